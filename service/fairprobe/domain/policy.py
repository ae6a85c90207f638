"""A team's written fairness policy as data: rules over metrics, scoped to attributes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Bound", "Policy", "Rule"]


class Bound(StrEnum):
    """How a rule's threshold applies to a metric's value."""

    MIN = "min"  # value >= threshold, e.g. disparate_impact min 0.8
    MAX = "max"  # value <= threshold
    MAX_ABS = "max_abs"  # |value| <= threshold, e.g. statistical_parity_difference max_abs 0.1
    MAX_RELATIVE_GAP = "max_relative_gap"  # |rate / reference rate - 1| <= threshold


@dataclass(frozen=True, slots=True)
class Rule:
    """One objective: ``metric`` must satisfy ``bound`` against ``threshold`` for every group in scope.

    ``attributes`` limits the rule to groups of those attributes (``None``: every attribute);
    ``intersections`` says whether intersectional groups are judged too.
    """

    metric: str
    bound: Bound
    threshold: float
    attributes: tuple[str, ...] | None = None
    intersections: bool = True

    @property
    def rule_id(self) -> str:
        return f"{self.metric}:{self.bound.value}:{self.threshold:g}"


@dataclass(frozen=True, slots=True)
class Policy:
    """Rules plus the statistical settings that decide ``pass``/``fail``/``inconclusive``."""

    rules: tuple[Rule, ...]
    alpha: float
    min_group_size: int
    source: str  # "request" or "default"
