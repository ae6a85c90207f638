"""A team's written fairness policy as data: rules over metrics, scoped to attributes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Bound", "DecisionRule", "Policy", "Rule", "SmallGroups"]


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

    def covers(self, attributes: tuple[str, ...]) -> bool:
        """Whether the rule's scope includes the groups of a partition by ``attributes``."""
        if len(attributes) > 1 and not self.intersections:
            return False
        return self.attributes is None or set(attributes) <= set(self.attributes)

    def interval(self) -> tuple[float, float]:
        """The values the rule allows, as ``[low, high]`` (infinite on an open side).

        ``max_relative_gap`` g allows a relative gap (rate ratio minus one) in ``[-g, g]``.
        """
        t = self.threshold
        return {
            Bound.MIN: (t, math.inf),
            Bound.MAX: (-math.inf, t),
            Bound.MAX_ABS: (-t, t),
            Bound.MAX_RELATIVE_GAP: (-t, t),
        }[self.bound]


class DecisionRule(StrEnum):
    """How a finding's status is decided (see ``engines.policy``)."""

    BOUND = "bound"  # pass: the interval lies inside the bound; fail: a test against the bound (BH)
    PARITY = "parity"  # classical: pass when the estimate is inside; fail when outside and != parity (BH)


class SmallGroups(StrEnum):
    """Whether findings on groups too small to judge keep the verdict from passing."""

    BLOCK = "block"  # any such finding makes a would-be pass inconclusive
    SKIP_INTERSECTIONS = "skip_intersections"  # only single-attribute groups block (default)
    SKIP = "skip"  # none blocks; they stay listed as inconclusive findings


@dataclass(frozen=True, slots=True)
class Policy:
    """Rules plus the statistical settings that decide ``pass``/``fail``/``inconclusive``."""

    rules: tuple[Rule, ...]
    alpha: float
    min_group_size: int
    source: str  # "request" or "default"
    decision_rule: DecisionRule = DecisionRule.BOUND
    small_groups: SmallGroups = SmallGroups.SKIP_INTERSECTIONS
    power: float = 0.8  # the power at which an inconclusive finding's sample size would decide it

    @property
    def ci_level(self) -> float:
        """The level of a finding's interval: 1 - 2 alpha under the bound rule (two one-sided tests at
        alpha), 1 - alpha under the parity rule."""
        return 1 - 2 * self.alpha if self.decision_rule is DecisionRule.BOUND else 1 - self.alpha
