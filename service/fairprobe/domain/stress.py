"""Synthetic-profile stress tests and individual-discrimination searches: requests and reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

import pandas as pd

from fairprobe.domain.endpoint import Accounting, EndpointSpec
from fairprobe.domain.findings import Disparity, Estimate, Finding, Status
from fairprobe.domain.groups import GroupKey
from fairprobe.domain.names import NameGroup
from fairprobe.domain.policy import Policy

__all__ = [
    "Causal",
    "Condition",
    "Directed",
    "DiscriminationExample",
    "DiscriminationReport",
    "DiscriminationRequest",
    "EdgeFamily",
    "EdgeFamilyReport",
    "FieldSpec",
    "FieldType",
    "Generator",
    "StressGroup",
    "StressRecord",
    "StressReport",
    "StressRequest",
    "TargetGroup",
    "TruthRule",
]


class FieldType(StrEnum):
    NUMBER = "number"
    INTEGER = "integer"
    CATEGORY = "category"
    DATE = "date"
    TEXT = "text"
    NAME = "name"


class EdgeFamily(StrEnum):
    BOUNDARY = "boundary_values"
    MISSING = "missing_optional"
    RARE = "rare_categories"
    LONG_NAMES = "long_names"
    NON_ASCII_NAMES = "non_ascii_names"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One input field of the model, as the schema generator draws it."""

    name: str
    type: FieldType
    low: float | None = None
    high: float | None = None
    distribution: Literal["uniform", "normal", "lognormal"] = "uniform"
    mean: float | None = None
    sd: float | None = None
    categories: tuple[Any, ...] = ()
    weights: tuple[float, ...] = ()
    start: str | None = None  # dates, ISO
    end: str | None = None
    template: str | None = None  # text with {field} slots
    name_part: Literal["first", "last", "full"] = "full"
    names: tuple[NameGroup, ...] = ()  # a name field's bank groups (resolved at the edge)
    protected: bool = False
    optional: bool = False


@dataclass(frozen=True, slots=True)
class TruthRule:
    """A ground truth for synthetic profiles: the label is positive when every condition holds."""

    conditions: tuple[tuple[str, str, Any], ...]  # (field, operator, value)


@dataclass(frozen=True, slots=True)
class Condition:
    """A target group's condition on one field: a value, or a numeric range ``[low, high)``."""

    value: Any = None
    low: float | None = None
    high: float | None = None

    @property
    def is_range(self) -> bool:
        return self.low is not None or self.high is not None

    @property
    def label(self) -> Any:
        if not self.is_range:
            return self.value
        if self.low is None:
            return f"< {self.high:g}"
        if self.high is None:
            return f">= {self.low:g}"
        return f"[{self.low:g}, {self.high:g})"


@dataclass(frozen=True, slots=True)
class TargetGroup:
    name: str
    where: Mapping[str, Condition]

    @property
    def key(self) -> GroupKey:
        return GroupKey(tuple(self.where), tuple(c.label for c in self.where.values()))


@dataclass(frozen=True, eq=False)
class Generator:
    """Where synthetic profiles come from: a field schema, or a reference dataset to fit.

    With a reference, ``fields`` lists the columns sent to the model (all of them by default) and
    ``protected`` the protected columns; ``name_fields`` are text columns holding names.
    """

    kind: Literal["schema", "reference"]
    fields: tuple[FieldSpec, ...] = ()
    reference: pd.DataFrame | None = None
    protected: tuple[str, ...] = ()
    name_fields: tuple[str, ...] = ()
    truth: TruthRule | None = None
    min_group_rows: int = 30

    @property
    def protected_fields(self) -> tuple[str, ...]:
        if self.kind == "schema":
            return tuple(f.name for f in self.fields if f.protected)
        return self.protected


@dataclass(frozen=True, eq=False)
class StressRequest:
    endpoint: EndpointSpec
    generator: Generator
    groups: tuple[TargetGroup, ...]
    reference: str
    profiles_per_group: int
    edge_cases: tuple[EdgeFamily, ...]
    edge_profiles_per_group: int
    policy: Policy
    seed: int


@dataclass(frozen=True, slots=True)
class StressGroup:
    key: GroupKey
    name: str
    is_reference: bool
    profiles: int
    answered: int
    marginals: str  # "schema", "group" (fitted on the group's own rows) or "pooled" (too few rows)
    reference_rows: int | None
    metrics: Mapping[str, Estimate]
    disparities: Mapping[str, Disparity]


@dataclass(frozen=True, slots=True)
class EdgeFamilyReport:
    family: EdgeFamily
    applicable: bool
    profiles: int
    failed: int
    failure_rate: Estimate
    failures_by_group: Mapping[str, int]
    failures_by_reason: Mapping[str, int]
    concentration_p_value: float | None
    concentration_test: str | None
    concentrated: bool
    note: str


@dataclass(frozen=True, slots=True)
class StressRecord:
    request_id: str
    created_at: str
    generator: str
    seed: int
    policy: Policy | None  # searches report rates, not findings: no policy
    versions: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class StressReport:
    verdict: Status
    findings: tuple[Finding, ...]
    groups: tuple[StressGroup, ...]
    edge_cases: tuple[EdgeFamilyReport, ...]
    accounting: Accounting
    stress: StressRecord


# ------------------------------------------------------------------ individual discrimination


@dataclass(frozen=True, eq=False)
class DiscriminationRequest:
    endpoint: EndpointSpec
    generator: Generator
    protected_values: Mapping[str, tuple[Any, ...]]  # the values each protected field is varied over
    methods: tuple[Literal["causal", "directed"], ...]
    precision: float
    max_probes: int
    batch_profiles: int
    directed_global_share: float
    examples: int
    policy: Policy
    seed: int

    @property
    def alpha(self) -> float:
        return self.policy.alpha


@dataclass(frozen=True, slots=True)
class DiscriminationExample:
    """A profile whose decision changes when only its protected attributes (or name) change."""

    profile: Mapping[str, Any]  # synthetic: the non-protected fields
    variants: tuple[tuple[Mapping[str, Any], float | None, bool | None], ...]  # protected values, score, decision


@dataclass(frozen=True, slots=True)
class Causal:
    rate: Estimate
    profiles_tested: int
    discriminatory: int
    probes: int
    stopped: str  # "precision", "budget", "deadline" or "endpoint_failing"
    examples: tuple[DiscriminationExample, ...]


@dataclass(frozen=True, slots=True)
class Directed:
    budget: int
    directed_found: int
    random_found: int
    directed_probes: int
    random_probes: int
    directed_rate: Estimate
    random_rate: Estimate
    ratio: float | None
    examples: tuple[DiscriminationExample, ...]
    random_discriminating: int = 0  # random-sampling profiles that discriminate (duplicates counted)
    random_tested: int = 0
    stopped: str = "budget"  # "budget", "deadline" or "endpoint_failing"


@dataclass(frozen=True, slots=True)
class DiscriminationReport:
    verdict: Status
    findings: tuple[Finding, ...]
    causal: Causal | None
    directed: Directed | None
    accounting: Accounting
    stress: StressRecord
