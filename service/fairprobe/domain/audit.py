"""What a dataset audit is asked to do."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any

import pandas as pd

from fairprobe.domain.diagnostics import DiagnosticsRequest
from fairprobe.domain.endpoint import EndpointSpec
from fairprobe.domain.groups import Label, ProtectedAttribute
from fairprobe.domain.outputs import OutputsRequest
from fairprobe.domain.policy import Policy

__all__ = ["LABEL", "PREDICTION", "SCORE", "WEIGHT", "AuditRequest", "ColumnRoles", "DataKind", "Role"]


class Role(Enum):
    """Keys of the normalised role columns in ``AuditRequest.frame``.

    They are enum members, not strings, so no column of the caller's (whose names are strings, kept as they
    are for the protected columns) can ever be taken for one, whatever it is called.
    """

    LABEL = "label"  # bool: label == positive_label
    PREDICTION = "prediction"  # bool: prediction == positive_label (or score >= threshold)
    SCORE = "score"  # float in [0, 1], optional
    WEIGHT = "weight"  # float > 0: sample weight (rows) or number of people (counts)


LABEL, PREDICTION, SCORE, WEIGHT = Role.LABEL, Role.PREDICTION, Role.SCORE, Role.WEIGHT


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

    label: str | None
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
    predicted: bool = True  # False: a data-only audit (labels and groups, no model yet); PREDICTION copies LABEL
    #: False: no label column (an audit of outputs: segments, outcomes, lists); LABEL copies PREDICTION
    labelled: bool = True
    #: the columns the diagnostics examine (features, conditioning columns), as given, row-aligned with ``frame``
    extra: pd.DataFrame | None = None
    feature_names: tuple[str, ...] = ()  # the columns of ``extra`` that are features (not conditioning)
    #: protected columns of the rows whose label is missing (``missing_labels: exclude``): label completeness
    unlabelled: pd.DataFrame | None = None
    diagnostics: DiagnosticsRequest = field(default_factory=DiagnosticsRequest)
    outputs: OutputsRequest = field(default_factory=OutputsRequest)
