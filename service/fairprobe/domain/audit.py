"""What a dataset audit is asked to do."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pandas as pd

from fairprobe.domain.endpoint import EndpointSpec
from fairprobe.domain.groups import Label, ProtectedAttribute
from fairprobe.domain.policy import Policy

__all__ = ["LABEL", "PREDICTION", "SCORE", "WEIGHT", "AuditRequest", "ColumnRoles", "DataKind"]

# Normalised column names in AuditRequest.frame (the user's protected columns keep their own names).
LABEL = "__label__"  # bool: label == positive_label
PREDICTION = "__prediction__"  # bool: prediction == positive_label (or score >= threshold)
SCORE = "__score__"  # float in [0, 1], optional
WEIGHT = "__weight__"  # float > 0: sample weight (rows) or number of people (counts)


class DataKind(StrEnum):
    ROWS = "rows"  # one row per person
    COUNTS = "counts"  # one row per (group values, label, prediction), with a count


@dataclass(frozen=True, slots=True)
class ColumnRoles:
    """Which column plays which part, and which values mean what.

    ``positive_label`` is the event the model predicts (it defines TPR/FPR); ``favorable`` is the
    prediction that benefits the person and only sets the direction of SPD and disparate impact.
    A prediction may instead come from ``score >= threshold``.
    """

    label: str
    prediction: str | None
    score: str | None
    threshold: float | None
    weight: str | None
    count: str | None
    positive_label: Label
    favorable: Label
    favorable_given: bool = True  # False: favorable was defaulted to positive_label

    @property
    def favorable_is_positive(self) -> bool:
        return self.favorable == self.positive_label


@dataclass(frozen=True, eq=False)
class AuditRequest:
    """A validated audit: the frame's columns were checked at the edge against these roles.

    ``frame`` holds the protected columns under their own names plus ``LABEL`` and ``PREDICTION``
    (booleans derived from the declared values), optional ``SCORE``, and ``WEIGHT`` (sample weights,
    or the counts of a counts table; 1.0 when neither was given).
    """

    frame: pd.DataFrame
    kind: DataKind
    roles: ColumnRoles
    protected: tuple[ProtectedAttribute, ...]
    intersections: tuple[tuple[str, ...], ...]
    policy: Policy
    seed: int
    endpoint: EndpointSpec | None = None  # score the rows through this model instead of a prediction column
    features: tuple[Mapping[str, Any], ...] = ()  # with an endpoint: one record per row, as sent to the model
