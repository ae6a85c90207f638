"""The one module that imports AIF360: its metric classes run on a weighted counts table.

AIF360 accepts instance weights, so a table with one row per non-empty (group cells, label,
prediction) cell and the cell's weight as instance weight gives AIF360's own numbers for every group
metric, bit-identical to running it on the raw rows, at a tiny fraction of the cost.

AIF360's class-based metrics memoize every result in module-level dicts keyed by the metric object
(``aif360/metrics/metric.py``), which would keep every audit's datasets alive for the life of the
worker. ``group_metrics`` removes exactly the entries of the objects it created before returning.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import numpy as np
import pandas as pd

from fairprobe.stats.counts import CountsTable


@contextmanager
def _quiet_import() -> Iterator[None]:
    # aif360 logs "No module named 'tensorflow'" style warnings on import; they are not ours.
    root = logging.getLogger()
    previous = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(previous)


with _quiet_import():
    from aif360.datasets import BinaryLabelDataset
    from aif360.metrics import BinaryLabelDatasetMetric, ClassificationMetric
    from aif360.metrics.dataset_metric import DatasetMetric
    from aif360.metrics.metric import Metric

__all__ = ["AIF360_VERSION", "GroupMetrics", "group_metrics"]

AIF360_VERSION = version("aif360")

#: per-group rates: AIF360's ClassificationMetric methods of these names (positive = the event) ...
RATE_METHODS = ("base_rate", "selection_rate")
#: ... and the rest from one ``performance_measures`` call, the dict every one of their methods indexes
#: (``true_positive_rate`` returns ``performance_measures()["TPR"]``, and so on): one call instead of nine
PERFORMANCE_KEYS = {
    "true_positive_rate": "TPR",
    "false_positive_rate": "FPR",
    "false_negative_rate": "FNR",
    "true_negative_rate": "TNR",
    "positive_predictive_value": "PPV",
    "negative_predictive_value": "NPV",
    "false_discovery_rate": "FDR",
    "false_omission_rate": "FOR",
    "accuracy": "ACC",
}

#: disparities on the positive-label metrics object
DIFFERENCE_METHODS = {
    "equal_opportunity_difference": "equal_opportunity_difference",
    "average_odds_difference": "average_odds_difference",
    "false_positive_rate_difference": "false_positive_rate_difference",
    "false_negative_rate_difference": "false_negative_rate_difference",
}
#: disparities AIF360 exposes as ``difference(<rate method>)``
DIFFERENCE_OF = {
    "positive_predictive_value_difference": "positive_predictive_value",
    "accuracy_difference": "accuracy",
}
#: disparities whose direction is set by the favorable prediction
FAVORABLE_METHODS = ("statistical_parity_difference", "disparate_impact")
#: the same two on the labels: BinaryLabelDatasetMetric's, over the favorable label's base rate
LABEL_METHODS = {"label_statistical_parity_difference": "difference", "label_disparate_impact": "ratio"}

_NO_GROUP = -1.0  # a code no cell has: the "privileged" side when a reference is measured alone


@dataclass(frozen=True, slots=True)
class GroupMetrics:
    """AIF360's values for one group: its rates, and its disparities against the reference."""

    rates: Mapping[str, float]
    disparities: Mapping[str, float]


#: AIF360's column names: positional, so no attribute name of the caller's can collide with them
_LABEL, _PREDICTION, _WEIGHT = "label", "prediction", "weight"


def _column(position: int) -> str:
    return f"attribute_{position}"


def _frame(table: CountsTable) -> pd.DataFrame:
    """Non-empty cells of the table as rows, codes as floats, weight as instance weight."""
    rows, label, prediction = np.nonzero(table.weight > 0)
    data: dict[str, np.ndarray] = {_column(i): table.codes[rows, i].astype(float)
                                   for i in range(len(table.attributes))}
    data[_LABEL] = label.astype(float)
    data[_PREDICTION] = prediction.astype(float)
    data[_WEIGHT] = table.weight[rows, label, prediction]
    return pd.DataFrame(data)


def _datasets(frame: pd.DataFrame, attributes: int, favorable: float) -> tuple[Any, Any]:
    truth = BinaryLabelDataset(
        df=frame.drop(columns=[_PREDICTION]),
        label_names=[_LABEL],
        protected_attribute_names=[_column(i) for i in range(attributes)],
        instance_weights_name=_WEIGHT,
        favorable_label=favorable,
        unfavorable_label=1.0 - favorable,
    )
    predicted = truth.copy()
    predicted.labels = frame[[_PREDICTION]].to_numpy()
    return truth, predicted


def _memo_caches() -> tuple[dict[Any, Any], ...]:
    """The memo dicts of every memoized AIF360 metric method (the closures of its ``memoize`` wrapper)."""
    caches = []
    for cls in (ClassificationMetric, BinaryLabelDatasetMetric, DatasetMetric, Metric):
        for member in vars(cls).values():
            code = getattr(member, "__code__", None)
            if code is None or "cache" not in code.co_freevars or member.__closure__ is None:
                continue
            caches.append(member.__closure__[code.co_freevars.index("cache")].cell_contents)
    return tuple(caches)


#: found once: AIF360's classes and their method closures do not change while the process runs
_MEMO_CACHES = _memo_caches()


def _forget(objects: Sequence[object]) -> None:
    """Drop the memo-cache entries keyed by ``objects`` from every memoized AIF360 metric method."""
    ids = {id(o) for o in objects}
    for cache in _MEMO_CACHES:
        for key in [k for k in list(cache) if isinstance(k, tuple) and k and id(k[0]) in ids]:
            cache.pop(key, None)


def group_metrics(
    table: CountsTable,
    groups: Sequence[Mapping[str, int]],
    references: Sequence[Mapping[str, int]],
    *,
    favorable_is_positive: bool,
) -> list[GroupMetrics]:
    """AIF360's rates for each group and its disparities against ``references[i]``.

    ``groups[i]`` and ``references[i]`` map attribute names to level codes of ``table``. When a group
    is its own reference only its rates are returned. Undefined values (zero denominators) are NaN.
    """
    frame = _frame(table)
    truth, predicted = _datasets(frame, len(table.attributes), 1.0)
    if favorable_is_positive:
        fav_truth, fav_predicted = truth, predicted
    else:
        fav_truth, fav_predicted = _datasets(frame, len(table.attributes), 0.0)
    position = {name: _column(i) for i, name in enumerate(table.attributes)}
    created: list[object] = []
    results: list[GroupMetrics | None] = []
    # a reference's own rates: the privileged side of a metric that compares a group with it, or, for a
    # reference no group is compared with, a metric of its own (against a group no one is in)
    compared = {_key(r) for g, r in zip(groups, references, strict=True) if dict(g) != dict(r)}
    as_reference: dict[tuple[tuple[str, int], ...], int] = {}
    try:
        with np.errstate(divide="ignore", invalid="ignore"):
            for group, reference in zip(groups, references, strict=True):
                unprivileged = [{position[k]: float(v) for k, v in group.items()}]
                alone = dict(group) == dict(reference)
                if alone and _key(group) in compared:
                    results.append(None)  # filled in below from that metric's privileged side
                    continue
                privileged = (
                    [{position[next(iter(group))]: _NO_GROUP}] if alone
                    else [{position[k]: float(v) for k, v in reference.items()}]
                )
                metric = ClassificationMetric(
                    truth, predicted, unprivileged_groups=unprivileged, privileged_groups=privileged
                )
                created.append(metric)
                rates = _rates(metric, privileged=False)
                disparities: dict[str, float] = {}
                if not alone:
                    as_reference.setdefault(_key(reference), len(created) - 1)
                    for name, method in DIFFERENCE_METHODS.items():
                        disparities[name] = float(getattr(metric, method)())
                    for name, method in DIFFERENCE_OF.items():
                        disparities[name] = float(metric.difference(getattr(metric, method)))
                    fav_metric = metric
                    if not favorable_is_positive:
                        fav_metric = ClassificationMetric(
                            fav_truth, fav_predicted,
                            unprivileged_groups=unprivileged, privileged_groups=privileged,
                        )
                        created.append(fav_metric)
                    for name in FAVORABLE_METHODS:
                        disparities[name] = float(getattr(fav_metric, name)())
                    for name, method in LABEL_METHODS.items():
                        # the dataset metric's SPD / DI: ClassificationMetric overrides them with predictions
                        disparities[name] = float(getattr(fav_metric, method)(fav_metric.base_rate))
                results.append(GroupMetrics(rates, disparities))
            for i, (group, result) in enumerate(zip(groups, results, strict=True)):
                if result is None:
                    results[i] = GroupMetrics(_rates(created[as_reference[_key(group)]], privileged=True), {})
    finally:
        _forget(created)
    return [r for r in results if r is not None]


def _key(group: Mapping[str, int]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(group.items()))


def _rates(metric: Any, *, privileged: bool) -> dict[str, float]:
    """AIF360's rates of one side of ``metric``: the unprivileged group's, or the privileged one's."""
    # ClassificationMetric is a BinaryLabelDatasetMetric of the true labels: base_rate included
    rates = {name: float(getattr(metric, name)(privileged=privileged)) for name in RATE_METHODS}
    measured = metric.performance_measures(privileged=privileged)
    rates.update((name, float(measured[key])) for name, key in PERFORMANCE_KEYS.items())
    return rates
