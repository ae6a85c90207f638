"""What personalization systems output, beyond one yes/no decision: segments, continuous outcomes, and
ranked recommendation lists. Each is audited as a section of the audit answer (``domain.diagnostics.Section``)
built on the same counts-table seam: rows are reduced to per-group sufficient statistics, then measured
and judged by the one decision rule."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from fairprobe.domain.groups import Label

__all__ = ["OutcomeSpec", "OutputKind", "OutputsRequest", "RankedLists", "RankingSpec", "SegmentSpec"]


class OutputKind(StrEnum):
    """The output sections of an audit answer, in the order they are reported."""

    SEGMENTS = "segments"  # each person placed in one of k segments
    OUTCOMES = "outcomes"  # a continuous outcome per person: offer value, discount, touchpoints, spend, score
    RANKINGS = "rankings"  # a ranked list of items per person


@dataclass(frozen=True, slots=True)
class SegmentSpec:
    """The segment column; placement in a ``valuable`` segment is the audit's favorable decision.

    ``levels`` are the segments that occur (sorted); a missing segment means the person was not assigned
    to any (segment coverage).
    """

    column: str
    levels: tuple[Label, ...]
    valuable: tuple[Label, ...] = ()


@dataclass(frozen=True, slots=True)
class OutcomeSpec:
    """A continuous outcome: from rows (``column``), or from a counts table's per-cell ``sum`` and
    ``sum_of_squares`` columns. ``higher_favours``: whether more is to the person's advantage (None:
    neither, e.g. touchpoints that may be wanted or unwanted)."""

    column: str | None
    sum_column: str | None = None
    sum_sq_column: str | None = None
    higher_favours: bool | None = True


@dataclass(frozen=True, slots=True)
class RankingSpec:
    """The columns of a long table of recommendation lists (one row per person, position and item).

    ``high_value`` are the values of ``high_value_column`` that mark a high-value item (margin tier,
    premium product); ``target_shares`` the exposure each provider should get (else its share of the
    relevance, else its share of the listed items).
    """

    customer: str
    item: str
    position: str
    category: str | None = None
    high_value_column: str | None = None
    high_value: tuple[Label, ...] = ()
    provider: str | None = None
    relevance: str | None = None
    target_shares: Mapping[Label, float] = field(default_factory=dict)
    k: int | None = None


@dataclass(frozen=True, eq=False)
class RankedLists:
    """The lists as arrays over the long table's rows, sorted by person then position.

    ``person`` indexes the audit frame's rows (one per person); ``position`` is 1-based; ``item``,
    ``category`` and ``provider`` are integer codes into their ``*_levels``; ``high_value`` flags
    high-value items; ``relevance`` is None when not given.
    """

    person: np.ndarray
    position: np.ndarray
    item: np.ndarray
    item_levels: int
    category: np.ndarray | None
    category_levels: tuple[Label, ...]
    high_value: np.ndarray | None
    provider: np.ndarray | None
    provider_levels: tuple[Label, ...]
    relevance: np.ndarray | None


@dataclass(frozen=True, eq=False)
class OutputsRequest:
    """Which outputs the audit measures, and their per-person data (row-aligned with the audit frame).

    ``segment`` holds each person's segment code (-1: none assigned); ``outcome`` each person's value, or
    for a counts table ``outcome_sum`` and ``outcome_sum_sq`` per row.
    """

    segment_spec: SegmentSpec | None = None
    segment: np.ndarray | None = None
    outcome_spec: OutcomeSpec | None = None
    outcome: np.ndarray | None = None
    outcome_sum: np.ndarray | None = None
    outcome_sum_sq: np.ndarray | None = None
    ranking_spec: RankingSpec | None = None
    lists: RankedLists | None = None

    @property
    def kinds(self) -> tuple[OutputKind, ...]:
        kinds = []
        if self.segment_spec is not None:
            kinds.append(OutputKind.SEGMENTS)
        if self.outcome_spec is not None:
            kinds.append(OutputKind.OUTCOMES)
        if self.ranking_spec is not None:
            kinds.append(OutputKind.RANKINGS)
        return tuple(kinds)
