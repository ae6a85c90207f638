"""AIF360 run on raw rows, the independent computation every reported number is checked against."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

logging.getLogger().setLevel(logging.ERROR)  # aif360's import-time notices about optional extras
from aif360.datasets import BinaryLabelDataset  # noqa: E402
from aif360.metrics import BinaryLabelDatasetMetric, ClassificationMetric  # noqa: E402

__all__ = ["RATES", "BinaryLabelDataset", "BinaryLabelDatasetMetric", "ClassificationMetric", "RowAudit"]

RATES = (
    "selection_rate", "true_positive_rate", "false_positive_rate", "false_negative_rate", "true_negative_rate",
    "positive_predictive_value", "negative_predictive_value", "false_discovery_rate", "false_omission_rate",
    "accuracy",
)


class RowAudit:
    """Row-level AIF360 datasets for one table of people, with protected columns coded as floats."""

    def __init__(self, frame: pd.DataFrame, protected: Sequence[str], label: np.ndarray, prediction: np.ndarray,
                 *, favorable: int, weights: np.ndarray | None = None) -> None:
        self.codes = {a: {v: float(i) for i, v in enumerate(sorted(frame[a].unique()))} for a in protected}
        df = pd.DataFrame({a: frame[a].map(self.codes[a]).astype(float) for a in protected})
        df["y"] = label.astype(float)
        if weights is not None:
            df["w"] = weights
        self.df, self.protected, self.prediction, self.favorable = df, list(protected), prediction, favorable
        self.with_weights = weights is not None

    def datasets(self, favorable: float, protected: Sequence[str] | None = None) -> tuple[object, object]:
        names = list(protected or self.protected)
        cols = [*names, "y"] + (["w"] if self.with_weights else [])
        truth = BinaryLabelDataset(df=self.df[cols], label_names=["y"], protected_attribute_names=names,
                                   instance_weights_name="w" if self.with_weights else None,
                                   favorable_label=favorable, unfavorable_label=1.0 - favorable)
        predicted = truth.copy()
        predicted.labels = self.prediction.astype(float).reshape(-1, 1)
        return truth, predicted

    def condition(self, group: Mapping[str, object]) -> list[dict[str, float]]:
        return [{a: self.codes[a][v] for a, v in group.items()}]
