"""Why a gap exists: what an audit's diagnostic sections are asked to do, and what each one answers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from fairprobe.domain.findings import Finding
from fairprobe.domain.groups import Label
from fairprobe.domain.outputs import OutputKind

__all__ = [
    "NEEDS_ROWS",
    "CandidateModel",
    "ConditioningColumn",
    "DiagnosticsRequest",
    "ScanOptions",
    "Section",
    "SectionName",
    "Skipped",
    "TimeWindows",
]


class SectionName(StrEnum):
    """The diagnostic sections of an audit answer, in the order they are reported."""

    COMPOSITION = "composition"  # who is in the data, and their labels (historical and selection bias)
    MISSINGNESS = "missingness"  # where values are missing, by group (measurement bias)
    AMPLIFICATION = "amplification"  # the model's gap against the labels' gap
    CONDITIONAL = "conditional"  # gaps within strata of a legitimate factor, and pooled across them
    PROXIES = "proxies"  # features that carry a protected attribute in
    SUBGROUPS = "subgroups"  # the worst subgroups over protected attributes and features
    WINDOWS = "windows"  # the audit per time window: breaches, trends, drift from a baseline window
    COMPARISON = "comparison"  # a candidate model against production on the same people (non-inferiority)
    MITIGATION = "mitigation"  # advice, never applied: reweighing weights for retraining


#: sections that need one row per person (the features): a counts table cannot feed them
NEEDS_ROWS = frozenset({SectionName.MISSINGNESS, SectionName.PROXIES})


@dataclass(frozen=True, slots=True)
class ConditioningColumn:
    """A legitimate factor to hold fixed: a column, banded by ``bins`` when numeric."""

    name: str
    bins: tuple[float, ...] | None = None


@dataclass(frozen=True, slots=True)
class ScanOptions:
    """The worst-subgroup scan: conditions per subgroup, the smallest subgroup tested, how many reported."""

    max_depth: int = 2
    min_support: int = 30
    top: int = 10


@dataclass(frozen=True, eq=False)
class TimeWindows:
    """Each row's time window: ``codes`` index ``labels`` (in time order); ``baseline`` is the window drift is
    measured from; ``drift`` the most a finding's value may move from it (``drift_given``: the caller stated
    it, so drift findings count towards the verdict)."""

    column: str
    window: str
    codes: np.ndarray
    labels: tuple[str, ...]
    baseline: int = 0
    drift: float = 0.05
    drift_given: bool = False


@dataclass(frozen=True, eq=False)
class CandidateModel:
    """A second model's decisions on the same rows (``decisions``: True where it predicts the positive label);
    ``margin`` is how much larger a gap it may make (``margin_given``: stated, so its findings count)."""

    column: str
    decisions: np.ndarray
    margin: float = 0.02
    margin_given: bool = False


@dataclass(frozen=True, eq=False)
class DiagnosticsRequest:
    """Which sections were asked for (``None``: every one the inputs allow) and their inputs.

    ``expected_shares`` maps an attribute to each value's expected population share; ``proxy_sample`` is
    the most rows the adversarial classifier is trained on (a seeded subsample above it).
    """

    sections: tuple[SectionName, ...] | None = None
    expected_shares: Mapping[str, Mapping[Label, float]] = field(default_factory=dict)
    conditioning: tuple[ConditioningColumn, ...] = ()
    scan: ScanOptions = ScanOptions()
    proxy_sample: int = 20_000
    time: TimeWindows | None = None
    candidate: CandidateModel | None = None


@dataclass(frozen=True, slots=True)
class Section:
    """One diagnostic section of the answer.

    ``tables`` hold its measurements as rows (each table documented in the metric catalogue); ``findings``
    are judged by the one decision rule, in their own Benjamini–Hochberg family, and count towards the
    verdict only when the request's policy has a rule on their metric (otherwise they are advice: the
    section's default rules, marked ``in_verdict: false``). ``method`` says how it was computed.
    """

    name: SectionName | OutputKind
    method: str
    tables: Mapping[str, tuple[Mapping[str, Any], ...]]
    findings: tuple[Finding, ...] = ()
    notes: tuple[str, ...] = ()
    needs_rows: bool = False


@dataclass(frozen=True, slots=True)
class Skipped:
    """A section that did not run, and why."""

    name: SectionName
    reason: str
