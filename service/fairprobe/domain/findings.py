"""Findings are data: one shape for every engine, undefined values carry a reason instead of NaN."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from fairprobe.domain.endpoint import Accounting
from fairprobe.domain.groups import GroupKey, Label
from fairprobe.domain.policy import Policy, Rule

__all__ = [
    "AttributeIndex",
    "AuditRecord",
    "AuditReport",
    "Disparity",
    "Estimate",
    "Favoured",
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
    GROUP_TOO_SMALL = "group_too_small"  # the rate's own denominator in the group is below min_group_size
    REFERENCE_TOO_SMALL = "reference_too_small"
    NOT_SIGNIFICANT = "not_significant"  # parity rule: outside the bound, not distinguishable from parity
    INTERVAL_CROSSES_BOUND = "interval_crosses_bound"  # bound rule: neither inside nor outside is shown
    NOT_SIGNIFICANT_AFTER_ADJUSTMENT = "not_significant_after_adjustment"  # outside, but not after BH
    AT_BOUND = "at_bound"  # the estimate sits on the bound: no sample size decides it
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
    ci_level: float | None = None


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
    ci_level: float | None = None


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


class Favoured(StrEnum):
    """Which side a gap runs in favour of."""

    GROUP = "group"
    REFERENCE = "reference"
    NEITHER = "neither"  # the value is exactly at parity


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule judged for one group against its reference.

    ``n``/``reference_n`` count people (or paired profiles); ``denominator_n``/``reference_denominator_n``
    are the (effective) people the compared rates are computed on, e.g. label positives for a TPR, and are
    what ``min_group_size`` is checked against. ``p_value`` tests that the bound is broken (against the
    bound, not parity, under the bound rule); ``p_value_adjusted`` is its Benjamini–Hochberg adjustment;
    ``equivalence_p_value`` tests that the bound is met. ``n_to_decide`` is the group size (and
    ``reference_n_to_decide`` the reference's) at which the rule's test would decide with the policy's
    power at the observed rates, for findings that are not decided.
    """

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
    ci_level: float | None = None
    denominator_n: float | None = None
    reference_denominator_n: float | None = None
    equivalence_p_value: float | None = None
    favoured: Favoured | None = None
    n_to_decide: int | None = None
    reference_n_to_decide: int | None = None
    in_verdict: bool = True


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """What makes an audit reproducible and attributable: what was audited, how, and with what.

    ``columns`` names the column of each role (label, prediction or score and threshold, weight, count);
    ``partitions`` lists every attribute and intersection audited with its reference group.
    """

    request_id: str
    created_at: str
    versions: Mapping[str, str]
    input_sha256: str
    rows: int
    people: float
    data_kind: str
    policy: Policy
    seed: int
    columns: Mapping[str, str | float | None] = field(default_factory=dict)
    positive_label: Label | None = None
    favorable: Label | None = None
    favorable_defaulted: bool = False
    partitions: tuple[tuple[tuple[str, ...], GroupKey], ...] = ()


@dataclass(frozen=True, slots=True)
class AuditReport:
    verdict: Status
    findings: tuple[Finding, ...]
    groups: tuple[GroupReport, ...]
    indices: tuple[AttributeIndex, ...]
    overall: Mapping[str, float | None]
    audit: AuditRecord
    scoring: Accounting | None = None  # when the rows were scored through a model endpoint
    warnings: tuple[str, ...] = ()  # what the caller should check: defaulted roles and the like
    diagnostics: tuple[Any, ...] = ()  # domain.diagnostics.Section: why a gap exists
    skipped: tuple[Any, ...] = ()  # domain.diagnostics.Skipped: sections that did not run, and why
    outputs: tuple[Any, ...] = ()  # domain.diagnostics.Section: segments, outcomes, rankings
