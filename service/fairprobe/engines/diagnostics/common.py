"""What every diagnostic section shares: its rules, its candidates, its judging, and how it codes a column."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from fairprobe.domain.audit import AuditRequest
from fairprobe.domain.findings import Disparity, Finding
from fairprobe.domain.groups import GroupKey
from fairprobe.domain.policy import Policy, Rule
from fairprobe.engines.catalogue import DIAGNOSTIC_METRICS
from fairprobe.engines.groups import Partition
from fairprobe.engines.policy import Candidate, judge
from fairprobe.stats import proportions
from fairprobe.stats.bounds import Measure
from fairprobe.stats.counts import cells_of_rows, encode

__all__ = [
    "MAX_FEATURE_LEVELS",
    "code_feature",
    "finite",
    "judged",
    "make_candidate",
    "numeric_feature",
    "row_groups",
    "rules_for",
    "wilson_row",
]

#: a categorical feature keeps its most frequent values, the rest become "(other)"
MAX_FEATURE_LEVELS = 20
OTHER = "(other)"
MISSING = "(missing)"


def rules_for(policy: Policy, metric: str) -> list[tuple[Rule, bool]]:
    """The rules a section judges ``metric`` by, each with whether its findings count towards the verdict:
    the policy's own rules on it (they count), else the metric's default rule (advice, they do not)."""
    own = [r for r in policy.rules if r.metric == metric]
    if own:
        return [(r, True) for r in own]
    default = DIAGNOSTIC_METRICS[metric].default
    return [] if default is None else [(default, False)]


def finite(x: float | np.floating | None) -> float | None:
    return float(x) if x is not None and math.isfinite(float(x)) else None


def make_candidate(
    rule: Rule, group: GroupKey, reference: GroupKey, n: float, reference_n: float, value: float | None,
    measure: Measure | None, alpha: float, *, parity_p: float | None = None, parity_test: str | None = None,
    sizes: tuple[float, float] | None = None, higher_favours: bool | None = None, parity_value: float = 0.0,
    subject: str | None = None, offset: float = 0.0,
) -> Candidate:
    """A candidate judged by its measure; under the parity rule ``judge`` gives it the measure's own interval at
    ``1 - alpha`` (computed there, stacked, only when that rule asks for it)."""
    parity = Disparity(value, None, None, None, parity_p, parity_test if parity_p is not None else None)
    return Candidate(rule=rule, group=group, reference=reference, n=int(round(n)), reference_n=int(round(reference_n)),
                     value=value, measure=measure if value is not None else None, parity=parity, sizes=sizes,
                     parity_value=parity_value, higher_favours=higher_favours, subject=subject, offset=offset)


def judged(candidates: Sequence[tuple[Candidate, bool]], policy: Policy) -> tuple[Finding, ...]:
    """Judge a section's candidates as one Benjamini–Hochberg family; advice (False) stays out of the verdict."""
    if not candidates:
        return ()
    findings = judge([c for c, _ in candidates], policy)
    return tuple(f if counts else replace(f, in_verdict=False)
                 for f, (_, counts) in zip(findings, candidates, strict=True))


def wilson_row(successes: np.ndarray, n: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson limits at ``1 - alpha`` (NaN where ``n`` is 0)."""
    interval = proportions.wilson(np.asarray(successes, float), np.asarray(n, float), alpha)
    return np.asarray(interval.low, float), np.asarray(interval.high, float)


def numeric_feature(series: pd.Series) -> np.ndarray | None:
    """A numeric feature with more than 10 values as floats scaled into [-1, 1] (NaN where missing or
    infinite), so no sum of squares overflows; None for a categorical one."""
    if not pd.api.types.is_numeric_dtype(series) or series.dtype == bool or series.nunique() <= 10:
        return None
    values = series.to_numpy(dtype=float)
    values = np.where(np.isfinite(values), values, np.nan)
    top = np.nanmax(np.abs(values)) if np.isfinite(values).any() else 0.0
    return values / top if top > 0 else values


def _quartile_edges(present: np.ndarray) -> np.ndarray:
    """Cut points at the quartiles; none at or below the smallest value, whose band would be empty (a
    feature that is mostly 0 splits at its next value instead: "< 1" and ">= 1")."""
    if not present.size:
        return np.array([])
    low = present.min()
    edges = np.unique(np.quantile(present, [0.25, 0.5, 0.75], method="lower"))
    edges = edges[edges > low]
    if not edges.size and (present > low).any():
        edges = np.array([present[present > low].min()])
    return edges


def code_feature(series: pd.Series) -> tuple[np.ndarray, tuple[object, ...], str]:
    """A feature as integer codes for counting: categorical values (their most frequent
    :data:`MAX_FEATURE_LEVELS` - 1, the rest "(other)"), numbers with more than 10 values as quartile bands,
    a missing value as its own level "(missing)". Returns codes, labels and how it was coded."""
    missing = series.isna().to_numpy()
    numeric = pd.api.types.is_numeric_dtype(series) and series.dtype != bool
    if numeric and series.nunique(dropna=True) > 10:
        values = series.to_numpy(dtype=float)
        missing |= ~np.isfinite(values)
        values = np.where(missing, np.nan, values)
        edges = _quartile_edges(values[~missing])
        band = np.searchsorted(edges, values, side="right")
        labels: list[object] = [f"< {edges[0]:g}"] if len(edges) else ["all"]
        labels += [f"[{lo:g}, {hi:g})" for lo, hi in itertools.pairwise(edges)]
        if len(edges):
            labels.append(f">= {edges[-1]:g}")
        codes = np.where(missing, len(labels), band).astype(np.int64)
        return codes, (*labels, MISSING), "quartile_bands"
    try:
        codes, uniques = pd.factorize(series, sort=True)
    except TypeError:  # text and numbers mixed: ordered as text
        codes, uniques = pd.factorize(series.map(lambda v: v if pd.isna(v) else str(v)), sort=True)
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    labels = [u.item() if isinstance(u, np.generic) else u for u in uniques]
    if len(uniques) > MAX_FEATURE_LEVELS - 1:
        keep = np.sort(np.argsort(-counts, kind="stable")[:MAX_FEATURE_LEVELS - 1])
        remap = np.full(len(uniques), len(keep), dtype=np.int64)
        remap[keep] = np.arange(len(keep))
        codes = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1)
        labels = [labels[i] for i in keep] + [OTHER]
    codes = np.where(codes < 0, len(labels), codes).astype(np.int64)
    return codes, (*labels, MISSING), "categories"


def row_groups(request: AuditRequest, part: Partition) -> np.ndarray:
    """Each row's group in ``part`` (an index into ``part.keys``), for sections that work on rows."""
    codes = [encode(request.frame[a], next(p.bins for p in request.protected if p.name == a))[0]
             for a in part.attributes]
    return cells_of_rows(codes, part.table)
