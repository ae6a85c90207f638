"""Protected attributes and the groups they define."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["GroupKey", "Label", "ProtectedAttribute"]

#: A value of a protected attribute as it appears in the data (or a bin label such as "[25, 45)").
Label = str | int | float | bool


@dataclass(frozen=True, slots=True)
class ProtectedAttribute:
    """One protected column and how its reference group is chosen.

    ``reference_rule`` is ``"named"`` (``reference`` holds the value) or ``"largest"`` (the most
    frequent group). ``bins`` turns a numeric column into right-open bands: edges ``(25, 45)`` make
    ``"< 25"``, ``"[25, 45)"`` and ``">= 45"``.
    """

    name: str
    reference_rule: Literal["named", "largest"] = "largest"
    reference: Label | None = None
    bins: tuple[float, ...] | None = None


@dataclass(frozen=True, slots=True)
class GroupKey:
    """A group: one value per attribute in ``attributes`` (one attribute, or an intersection)."""

    attributes: tuple[str, ...]
    values: tuple[Label, ...]

    @property
    def label(self) -> str:
        """Human-readable name, e.g. ``race=African-American & sex=Male``."""
        return " & ".join(f"{a}={v}" for a, v in zip(self.attributes, self.values, strict=True))

    def as_dict(self) -> dict[str, Label]:
        return dict(zip(self.attributes, self.values, strict=True))
