"""Name banks: groups of names strongly associated with one race/ethnicity or gender, with provenance."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Name", "NameBank", "NameGroup"]


@dataclass(frozen=True, slots=True)
class Name:
    """One name and the evidence for its group: its share for the group and how common it is."""

    name: str
    share: float | None
    count: int | None


@dataclass(frozen=True, slots=True)
class NameGroup:
    """A cell such as race=black & sex=female: first names, and surnames when the bank has them."""

    id: str
    attributes: Mapping[str, str]
    first_names: tuple[Name, ...]
    last_names: tuple[Name, ...] = ()


@dataclass(frozen=True, slots=True)
class NameBank:
    id: str
    title: str
    groups: tuple[NameGroup, ...]
    thresholds: Mapping[str, float]
    sources: tuple[str, ...]
    licence: str

    def group(self, group_id: str) -> NameGroup | None:
        return next((g for g in self.groups if g.id == group_id), None)
