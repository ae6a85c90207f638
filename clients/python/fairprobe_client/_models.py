"""Typed results: dataclasses mirroring the service's OpenAPI components.

Every report the service returns is read into these (unknown keys from a newer server are ignored; the
whole answer stays in ``raw``). Reports share the verdict, the summary and the findings, with helpers to
pick findings by status and to lay them out as pandas DataFrames.
"""

from __future__ import annotations

import dataclasses
import types
from typing import Any, ClassVar, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

import pandas as pd

__all__ = [
    "Accounting",
    "AuditRecord",
    "AuditReport",
    "Catalogue",
    "Causal",
    "Comparison",
    "DecisionRuleInfo",
    "DiagnosticSection",
    "Directed",
    "DiscriminationExample",
    "DiscriminationReport",
    "Disparity",
    "EdgeFamily",
    "Estimate",
    "Finding",
    "GroupReport",
    "Interval",
    "MetricInfo",
    "Name",
    "NameBank",
    "NameGroup",
    "Partition",
    "Policy",
    "ProbeGroup",
    "ProbeRecord",
    "ProbeReport",
    "ProfileGap",
    "Report",
    "Rule",
    "SearchRecord",
    "SkippedSection",
    "StressGroup",
    "StressReport",
    "Summary",
    "Variant",
    "load",
]

T = TypeVar("T")
Group = dict[str, Any]


def _matches(hint: Any, value: Any) -> bool:
    """Whether a JSON value has the shape of one alternative of a union."""
    origin = get_origin(hint) or hint
    if isinstance(value, list):
        return origin in (list, tuple)
    if isinstance(value, dict):
        return origin is dict or dataclasses.is_dataclass(origin)
    return isinstance(origin, type) and isinstance(value, origin)


def _convert(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        inner = [a for a in get_args(hint) if a is not type(None)]
        chosen = next((a for a in inner if _matches(a, value)), None)
        return _convert(chosen, value) if chosen is not None else value
    if origin is list or origin is tuple:
        (item,) = get_args(hint)[:1]
        return [_convert(item, v) for v in value]
    if origin is dict:
        _, item = get_args(hint)
        return {k: _convert(item, v) for k, v in value.items()}
    if dataclasses.is_dataclass(hint) and isinstance(value, dict):
        return load(hint, value)  # type: ignore[arg-type]
    return value


def load(cls: type[T], data: dict[str, Any]) -> T:
    """``cls`` (a dataclass here) from the service's JSON; a field named ``x_`` reads key ``x``."""
    hints = get_type_hints(cls)
    keys: dict[str, str] = getattr(cls, "KEYS", {})
    values = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        if field.name in ("raw", "html"):
            continue
        key = keys.get(field.name, field.name)
        if key in data:
            values[field.name] = _convert(hints[field.name], data[key])
    out = cls(**values)
    if "raw" in {f.name for f in dataclasses.fields(cls)}:  # type: ignore[arg-type]
        object.__setattr__(out, "raw", data)
    return out


def _label(group: Group | None) -> str:
    return " & ".join(f"{k}={v}" for k, v in (group or {}).items())


GROUP_COLUMNS = ["group", "n", "kind", "metric", "value", "ci_low", "ci_high", "ci_level", "p_value", "reason"]


def _measure_rows(label: str, n: int | None, kind: str, measures: dict[str, Estimate] | dict[str, Disparity]
                  ) -> list[dict[str, Any]]:
    """One row per measure of a group: the long format of ``Report.groups_frame``."""
    return [{"group": label, "n": n, "kind": kind, "metric": metric, "value": m.value, "ci_low": m.ci_low,
             "ci_high": m.ci_high, "ci_level": m.ci_level, "p_value": getattr(m, "p_value", None),
             "reason": m.reason} for metric, m in measures.items()]


# ------------------------------------------------------------------ shared pieces


@dataclasses.dataclass(frozen=True)
class Interval:
    """A value with its interval; ``reason`` says why the value is null when it is."""

    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    ci_level: float | None = None
    ci_method: str | None = None
    reason: str | None = None


@dataclasses.dataclass(frozen=True)
class Estimate(Interval):
    """A group's rate or mean, with the weighted counts it was computed from."""

    numerator: float | None = None
    denominator: float | None = None


@dataclasses.dataclass(frozen=True)
class Disparity(Interval):
    """A group against its reference, with the test of parity."""

    p_value: float | None = None
    test: str | None = None


@dataclasses.dataclass(frozen=True)
class Finding:
    """One rule judged for one group against its reference (see the service's README for every field)."""

    rule: str = ""
    metric: str = ""
    bound: str = ""
    threshold: float | None = None
    group: Group = dataclasses.field(default_factory=dict)
    reference: Group = dataclasses.field(default_factory=dict)
    n: int | None = None
    reference_n: int | None = None
    n_denominator: float | None = None
    reference_n_denominator: float | None = None
    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    ci_level: float | None = None
    ci_method: str | None = None
    p_value: float | None = None
    p_value_adjusted: float | None = None
    equivalence_p_value: float | None = None
    test: str | None = None
    status: Literal["pass", "fail", "inconclusive"] = "inconclusive"
    reason: str | None = None
    favoured: str | None = None
    n_to_decide: int | None = None
    reference_n_to_decide: int | None = None
    in_verdict: bool = True
    explanation: str = ""

    @property
    def label(self) -> str:
        return _label(self.group)


@dataclasses.dataclass(frozen=True)
class Summary:
    findings: int = 0
    passed: int = 0
    failed: int = 0
    inconclusive: int = 0
    not_in_verdict: int = 0

    KEYS: ClassVar[dict[str, str]] = {"passed": "pass", "failed": "fail"}


@dataclasses.dataclass(frozen=True)
class Rule:
    id: str = ""
    metric: str = ""
    bound: str = ""
    threshold: float | None = None
    attributes: list[str] | None = None
    intersections: bool = True


@dataclasses.dataclass(frozen=True)
class Policy:
    rules: list[Rule] = dataclasses.field(default_factory=list)
    alpha: float | None = None
    min_group_size: int | None = None
    source: str | None = None
    decision_rule: str | None = None
    small_groups: str | None = None
    power: float | None = None
    ci_level: float | None = None


@dataclasses.dataclass(frozen=True)
class Accounting:
    """What happened to every probe: ``sent == answered + failed``."""

    sent: int = 0
    answered: int = 0
    failed: int = 0
    partial: bool = False
    failures: dict[str, int] = dataclasses.field(default_factory=dict)
    http_statuses: dict[str, int] = dataclasses.field(default_factory=dict)
    requests: int = 0
    retries: int = 0
    retries_denied: int = 0
    gave_up: str | None = None
    elapsed_s: float | None = None
    deadline_s: float | None = None


@dataclasses.dataclass(frozen=True)
class Report:
    """What every report has: the verdict, the summary and the findings; ``raw`` is the JSON as received,
    ``html`` the service's HTML page of the report when the call asked for it (``html=True``)."""

    verdict: Literal["pass", "fail", "inconclusive"] = "inconclusive"
    summary: Summary = dataclasses.field(default_factory=Summary)
    findings: list[Finding] = dataclasses.field(default_factory=list)
    raw: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False, compare=False)
    html: str | None = dataclasses.field(default=None, repr=False, compare=False)

    def judged(self) -> list[Finding]:
        """Every finding the verdict rests on (an audit adds its sections' findings that count)."""
        return list(self.findings)

    def failed(self) -> list[Finding]:
        return [f for f in self.judged() if f.status == "fail"]

    def inconclusive(self) -> list[Finding]:
        return [f for f in self.judged() if f.status == "inconclusive"]

    def passed(self) -> list[Finding]:
        return [f for f in self.judged() if f.status == "pass"]

    def findings_frame(self) -> pd.DataFrame:
        """One row per finding: group, reference, rule, value with its interval, tests, status, explanation."""
        rows = [{"group": f.label, "reference": _label(f.reference), "metric": f.metric, "bound": f.bound,
                 "threshold": f.threshold, "value": f.value, "ci_low": f.ci_low, "ci_high": f.ci_high,
                 "ci_level": f.ci_level, "p_value_adjusted": f.p_value_adjusted,
                 "equivalence_p_value": f.equivalence_p_value, "status": f.status, "reason": f.reason,
                 "favoured": f.favoured, "n": f.n, "reference_n": f.reference_n, "n_to_decide": f.n_to_decide,
                 "in_verdict": f.in_verdict, "explanation": f.explanation} for f in self.findings]
        return pd.DataFrame(rows, columns=["group", "reference", "metric", "bound", "threshold", "value", "ci_low",
                                           "ci_high", "ci_level", "p_value_adjusted", "equivalence_p_value",
                                           "status", "reason", "favoured", "n", "reference_n", "n_to_decide",
                                           "in_verdict", "explanation"])

    def groups_frame(self) -> pd.DataFrame:
        """One row per group and measure (long format); reports without groups give an empty frame."""
        return pd.DataFrame(columns=GROUP_COLUMNS)

    def to_frame(self, table: Literal["findings", "groups"] = "findings") -> pd.DataFrame:
        """The findings (default) or the per-group table as a pandas DataFrame."""
        return self.findings_frame() if table == "findings" else self.groups_frame()


# ------------------------------------------------------------------ audits


@dataclasses.dataclass(frozen=True)
class GroupReport:
    group: Group = dataclasses.field(default_factory=dict)
    label: str = ""
    reference: Group = dataclasses.field(default_factory=dict)
    is_reference: bool = False
    n: int | None = None
    weighted_n: float | None = None
    share: float | None = None
    metrics: dict[str, Estimate] = dataclasses.field(default_factory=dict)
    disparities: dict[str, Disparity] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class AttributeIndex:
    attributes: list[str] = dataclasses.field(default_factory=list)
    reference: Group = dataclasses.field(default_factory=dict)
    groups: int | None = None
    metrics: dict[str, float | None] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Partition:
    attributes: list[str] = dataclasses.field(default_factory=list)
    reference: Group = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class AuditRecord:
    request_id: str = ""
    created_at: str = ""
    versions: dict[str, str] = dataclasses.field(default_factory=dict)
    input_sha256: str = ""
    rows: int | None = None
    people: float | None = None
    data_kind: str = ""
    columns: dict[str, Any] = dataclasses.field(default_factory=dict)
    positive_label: Any = None
    favorable: Any = None
    favorable_defaulted: bool = False
    partitions: list[Partition] = dataclasses.field(default_factory=list)
    policy: Policy = dataclasses.field(default_factory=Policy)
    seed: int | None = None


@dataclasses.dataclass(frozen=True)
class DiagnosticSection:
    """Why a gap exists: one diagnostic section (composition, missingness, amplification, conditional,
    proxies, subgroups). ``tables`` hold its measurements as rows; ``findings`` are judged by the same rule
    as the audit's (``in_verdict`` is false for advice)."""

    name: str = ""
    method: str = ""
    needs_rows: bool = False
    tables: dict[str, list[dict[str, Any]]] = dataclasses.field(default_factory=dict)
    findings: list[Finding] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)

    def table(self, name: str) -> pd.DataFrame:
        """One of the section's tables as a DataFrame (nested objects stay as dicts)."""
        return pd.DataFrame(self.tables.get(name, []))


@dataclasses.dataclass(frozen=True)
class SkippedSection:
    """A diagnostic section that did not run, and why."""

    name: str = ""
    reason: str = ""


@dataclasses.dataclass(frozen=True)
class AuditReport(Report):
    groups: list[GroupReport] = dataclasses.field(default_factory=list)
    indices: list[AttributeIndex] = dataclasses.field(default_factory=list)
    overall: dict[str, float | None] = dataclasses.field(default_factory=dict)
    audit: AuditRecord = dataclasses.field(default_factory=AuditRecord)
    scoring: Accounting | None = None
    warnings: list[str] = dataclasses.field(default_factory=list)
    diagnostics: list[DiagnosticSection] = dataclasses.field(default_factory=list)
    skipped: list[SkippedSection] = dataclasses.field(default_factory=list)

    outputs: list[DiagnosticSection] = dataclasses.field(default_factory=list)

    def judged(self) -> list[Finding]:
        return [*self.findings, *(f for s in (*self.diagnostics, *self.outputs) for f in s.findings if f.in_verdict)]

    def section(self, name: str) -> DiagnosticSection:
        """The diagnostic or output section ``name``; a KeyError says why it did not run when it did not."""
        for section in (*self.diagnostics, *self.outputs):
            if section.name == name:
                return section
        reason = next((s.reason for s in self.skipped if s.name == name), "it was not asked for")
        raise KeyError(f"no {name} section: {reason}")

    def groups_frame(self) -> pd.DataFrame:
        rows = [row for g in self.groups for row in (*_measure_rows(g.label, g.n, "rate", g.metrics),
                                                     *_measure_rows(g.label, g.n, "disparity", g.disparities))]
        return pd.DataFrame(rows, columns=GROUP_COLUMNS)


# ------------------------------------------------------------------ probes


@dataclasses.dataclass(frozen=True)
class ProbeGroup:
    group: Group = dataclasses.field(default_factory=dict)
    label: str = ""
    is_reference: bool = False
    profiles: int | None = None
    probes: int | None = None
    answered: int | None = None
    names: list[str] = dataclasses.field(default_factory=list)
    metrics: dict[str, Estimate] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class ProfileGap:
    profile_id: str = ""
    score_difference: float | None = None
    decision_changes: float | None = None


@dataclasses.dataclass(frozen=True)
class Comparison:
    group: Group = dataclasses.field(default_factory=dict)
    reference: Group = dataclasses.field(default_factory=dict)
    label: str = ""
    n: int | None = None
    excluded: int | None = None
    metrics: dict[str, Disparity] = dataclasses.field(default_factory=dict)
    worst: list[ProfileGap] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class ProbeRecord:
    request_id: str = ""
    created_at: str = ""
    kind: str = ""
    endpoint_format: str = ""
    profiles: int | None = None
    names_per_group: int | None = None
    bank: str | None = None
    policy: Policy = dataclasses.field(default_factory=Policy)
    seed: int | None = None
    versions: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class ProbeReport(Report):
    groups: list[ProbeGroup] = dataclasses.field(default_factory=list)
    comparisons: list[Comparison] = dataclasses.field(default_factory=list)
    accounting: Accounting = dataclasses.field(default_factory=Accounting)
    probe: ProbeRecord = dataclasses.field(default_factory=ProbeRecord)

    def groups_frame(self) -> pd.DataFrame:
        rows = [row for c in self.comparisons for row in _measure_rows(c.label, c.n, "paired", c.metrics)]
        return pd.DataFrame(rows, columns=GROUP_COLUMNS)


# ------------------------------------------------------------------ stress tests and searches


@dataclasses.dataclass(frozen=True)
class StressGroup:
    name: str = ""
    group: Group = dataclasses.field(default_factory=dict)
    label: str = ""
    is_reference: bool = False
    profiles: int | None = None
    answered: int | None = None
    marginals: str | None = None
    reference_rows: int | None = None
    metrics: dict[str, Estimate] = dataclasses.field(default_factory=dict)
    disparities: dict[str, Disparity] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class EdgeFamily:
    family: str = ""
    applicable: bool = False
    profiles: int = 0
    failed: int = 0
    failure_rate: Estimate = dataclasses.field(default_factory=Estimate)
    failures_by_group: dict[str, int] = dataclasses.field(default_factory=dict)
    failures_by_reason: dict[str, int] = dataclasses.field(default_factory=dict)
    concentration_p_value: float | None = None
    concentration_test: str | None = None
    concentrated: bool = False
    note: str = ""


@dataclasses.dataclass(frozen=True)
class SearchRecord:
    request_id: str = ""
    created_at: str = ""
    generator: str = ""
    seed: int | None = None
    policy: Policy | None = None
    versions: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class StressReport(Report):
    groups: list[StressGroup] = dataclasses.field(default_factory=list)
    edge_cases: list[EdgeFamily] = dataclasses.field(default_factory=list)
    accounting: Accounting = dataclasses.field(default_factory=Accounting)
    stress: SearchRecord = dataclasses.field(default_factory=SearchRecord)

    def groups_frame(self) -> pd.DataFrame:
        rows = [row for g in self.groups for row in (*_measure_rows(g.label, g.answered, "rate", g.metrics),
                                                     *_measure_rows(g.label, g.answered, "disparity", g.disparities))]
        return pd.DataFrame(rows, columns=GROUP_COLUMNS)


@dataclasses.dataclass(frozen=True)
class Variant:
    protected: dict[str, Any] = dataclasses.field(default_factory=dict)
    score: float | None = None
    decision: bool | None = None


@dataclasses.dataclass(frozen=True)
class DiscriminationExample:
    profile: dict[str, Any] = dataclasses.field(default_factory=dict)
    variants: list[Variant] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class Causal:
    rate: Estimate = dataclasses.field(default_factory=Estimate)
    profiles_tested: int = 0
    discriminatory: int = 0
    probes: int = 0
    stopped: str = ""
    examples: list[DiscriminationExample] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class Directed:
    budget: int = 0
    directed_found: int = 0
    random_found: int = 0
    directed_probes: int = 0
    random_probes: int = 0
    directed_rate: Estimate = dataclasses.field(default_factory=Estimate)
    random_rate: Estimate = dataclasses.field(default_factory=Estimate)
    ratio: float | None = None
    examples: list[DiscriminationExample] = dataclasses.field(default_factory=list)
    random_discriminating: int = 0
    random_tested: int = 0
    stopped: str = ""


@dataclasses.dataclass(frozen=True)
class DiscriminationReport(Report):
    causal: Causal | None = None
    directed: Directed | None = None
    accounting: Accounting = dataclasses.field(default_factory=Accounting)
    search: SearchRecord = dataclasses.field(default_factory=SearchRecord)


# ------------------------------------------------------------------ catalogue and name banks


@dataclasses.dataclass(frozen=True)
class MetricInfo:
    name: str = ""
    kind: str = ""
    definition: str = ""
    ideal: float | None = None
    worse: str = ""
    aif360: str | None = None
    interval: str | None = None
    test: str | None = None


@dataclasses.dataclass(frozen=True)
class DecisionRuleInfo:
    name: str = ""
    passes: str = ""
    fails: str = ""
    inconclusive: str = ""
    interval_level: str = ""

    KEYS: ClassVar[dict[str, str]] = {"passes": "pass", "fails": "fail"}


@dataclasses.dataclass(frozen=True)
class Catalogue:
    metrics: list[MetricInfo] = dataclasses.field(default_factory=list)
    decision_rules: list[DecisionRuleInfo] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class Name:
    name: str = ""
    share: float | None = None
    count: int | None = None


@dataclasses.dataclass(frozen=True)
class NameGroup:
    id: str = ""
    attributes: dict[str, str] = dataclasses.field(default_factory=dict)
    first_names: list[Name] | int = dataclasses.field(default_factory=list)
    last_names: list[Name] | int = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class NameBank:
    id: str = ""
    title: str = ""
    thresholds: dict[str, float] = dataclasses.field(default_factory=dict)
    sources: list[str] = dataclasses.field(default_factory=list)
    licence: str = ""
    groups: list[NameGroup] = dataclasses.field(default_factory=list)

