"""Counterfactual probes of a model endpoint: what is asked (name swaps, attribute flips), what comes back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fairprobe.domain.endpoint import Accounting, EndpointSpec
from fairprobe.domain.findings import Disparity, Estimate, Finding, Status
from fairprobe.domain.groups import GroupKey, Label
from fairprobe.domain.names import NameGroup
from fairprobe.domain.policy import Policy

__all__ = [
    "AttributeFlip",
    "Comparison",
    "FlipRequest",
    "NameSlots",
    "NameSwapRequest",
    "ProbeGroup",
    "ProbeRecord",
    "ProbeReport",
    "ProfileGap",
    "Profiles",
]


@dataclass(frozen=True, eq=False)
class Profiles:
    """Base profiles: the fields sent to the model, and an id per profile (never sent, never more echoed)."""

    ids: tuple[str, ...]
    records: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True, slots=True)
class NameSlots:
    """Where a name goes in a profile: record fields, and text fields with ``{first_name}``-style slots."""

    first_name: str | None = None
    last_name: str | None = None
    full_name: str | None = None
    text_fields: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class NameSwapRequest:
    endpoint: EndpointSpec
    profiles: Profiles
    slots: NameSlots
    bank: str
    groups: tuple[NameGroup, ...]
    reference: str
    names_per_group: int
    policy: Policy
    seed: int
    worst: int = 5


@dataclass(frozen=True, slots=True)
class AttributeFlip:
    """Flip ``attribute`` among ``values``; each proxy field takes the value given for the new value."""

    attribute: str
    values: tuple[Label, ...]
    proxies: Mapping[str, Mapping[str, Any]]  # proxy field -> str(attribute value) -> proxy value


@dataclass(frozen=True, eq=False)
class FlipRequest:
    endpoint: EndpointSpec
    profiles: Profiles
    flips: tuple[AttributeFlip, ...]
    policy: Policy
    seed: int
    worst: int = 5


@dataclass(frozen=True, slots=True)
class ProbeGroup:
    """One arm: the answers of every profile under one name group (or one attribute value)."""

    key: GroupKey
    is_reference: bool
    profiles: int
    probes: int
    answered: int
    names: tuple[str, ...]
    metrics: Mapping[str, Estimate]


@dataclass(frozen=True, slots=True)
class ProfileGap:
    """A profile whose answer moved most: identified by its id only."""

    profile_id: str
    score_difference: float | None
    decision_changes: float


@dataclass(frozen=True, slots=True)
class Comparison:
    """A group against the reference, paired by profile (and name slot)."""

    group: GroupKey
    reference: GroupKey
    n: int
    excluded: int
    metrics: Mapping[str, Disparity]
    worst: tuple[ProfileGap, ...]


@dataclass(frozen=True, slots=True)
class ProbeRecord:
    request_id: str
    created_at: str
    kind: str
    endpoint_format: str
    profiles: int
    names_per_group: int | None
    bank: str | None
    policy: Policy
    seed: int
    versions: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class ProbeReport:
    verdict: Status
    findings: tuple[Finding, ...]
    groups: tuple[ProbeGroup, ...]
    comparisons: tuple[Comparison, ...]
    accounting: Accounting
    probe: ProbeRecord
