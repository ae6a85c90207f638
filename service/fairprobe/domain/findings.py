"""Findings are data: one shape for every engine, undefined values carry a reason instead of NaN."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from fairprobe.domain.endpoint import Accounting
from fairprobe.domain.groups import GroupKey
from fairprobe.domain.policy import Policy, Rule

__all__ = [
    "AttributeIndex",
    "AuditRecord",
    "AuditReport",
    "Disparity",
    "Estimate",
    "Finding",
    "GroupReport",
    "Reason",
    "Status",
]


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


class Reason(StrEnum):
    """Why a value is ``null`` or a finding is ``inconclusive``."""

    EMPTY_GROUP = "empty_group"
    ZERO_DENOMINATOR = "zero_denominator"
    SINGLE_CLASS = "single_class"
    GROUP_TOO_SMALL = "group_too_small"
    REFERENCE_TOO_SMALL = "reference_too_small"
    NOT_SIGNIFICANT = "not_significant"
    IS_REFERENCE = "is_reference"
    NO_SCORES = "no_scores"


@dataclass(frozen=True, slots=True)
class Estimate:
    """A group-level quantity: ``value`` = ``numerator / denominator`` with its interval.

    ``numerator`` and ``denominator`` are (weighted) counts of people; ``effective_n`` is the Kish
    effective sample size of the denominator, equal to it when there are no sample weights.
    """

    value: float | None
    ci_low: float | None
    ci_high: float | None
    ci_method: str | None
    numerator: float | None = None
    denominator: float | None = None
    reason: Reason | None = None


@dataclass(frozen=True, slots=True)
class Disparity:
    """A group against its reference: the value (a difference or ratio), its interval and test."""

    value: float | None
    ci_low: float | None
    ci_high: float | None
    ci_method: str | None
    p_value: float | None
    test: str | None
    reason: Reason | None = None


@dataclass(frozen=True, slots=True)
class GroupReport:
    """Everything measured for one group (a value of an attribute, or an intersection)."""

    key: GroupKey
    reference: GroupKey
    is_reference: bool
    n: int
    weighted_n: float
    share: float
    metrics: Mapping[str, Estimate]
    disparities: Mapping[str, Disparity]


@dataclass(frozen=True, slots=True)
class AttributeIndex:
    """Between-group inequality over the partition by ``attributes`` (entropy indices)."""

    attributes: tuple[str, ...]
    reference: GroupKey
    groups: int
    metrics: Mapping[str, float | None]


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule judged for one group against its reference."""

    rule: Rule
    group: GroupKey
    reference: GroupKey
    n: int
    reference_n: int
    value: float | None
    ci_low: float | None
    ci_high: float | None
    ci_method: str | None
    p_value: float | None
    p_value_adjusted: float | None
    test: str | None
    status: Status
    reason: Reason | None
    explanation: str


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """What makes an audit reproducible and attributable."""

    request_id: str
    created_at: str
    versions: Mapping[str, str]
    input_sha256: str
    rows: int
    people: float
    data_kind: str
    policy: Policy
    seed: int


@dataclass(frozen=True, slots=True)
class AuditReport:
    verdict: Status
    findings: tuple[Finding, ...]
    groups: tuple[GroupReport, ...]
    indices: tuple[AttributeIndex, ...]
    overall: Mapping[str, float | None]
    audit: AuditRecord
    scoring: Accounting | None = None  # when the rows were scored through a model endpoint
