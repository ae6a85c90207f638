"""Which groups an audit measures and whom each is compared with."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fairprobe.domain.groups import GroupKey, ProtectedAttribute
from fairprobe.stats.counts import CountsTable

__all__ = ["Partition", "partitions"]


@dataclass(frozen=True, eq=False)
class Partition:
    """The groups formed by one attribute or one intersection of attributes.

    ``table`` is the counts table collapsed onto ``attributes``: its row ``i`` is group ``i``, whose level
    codes are ``cells[i]`` (groups with people only); ``reference`` indexes the reference group.
    """

    attributes: tuple[str, ...]
    table: CountsTable
    cells: tuple[tuple[int, ...], ...]
    keys: tuple[GroupKey, ...]
    reference: int

    def people(self, i: int) -> float:
        return float(self.table.people[i].sum())


def _partition(table: CountsTable, attributes: tuple[str, ...], named: dict[str, int | None]) -> Partition:
    sub = table.collapse(attributes)
    people = sub.people.sum(axis=(-2, -1))
    cells = tuple(tuple(int(c) for c in row) for row in sub.codes)
    keys = tuple(
        GroupKey(attributes, tuple(sub.levels[j][c] for j, c in enumerate(cell)))  # type: ignore[misc]
        for cell in cells
    )
    wanted = tuple(named.get(a) for a in attributes)
    if all(code is not None for code in wanted) and wanted in cells:
        reference = cells.index(wanted)
    else:
        # "largest", or an intersection whose named reference cell is empty: the most frequent group
        reference = int(np.argmax(people))
    return Partition(attributes, sub, cells, keys, reference)


def partitions(
    table: CountsTable,
    protected: Sequence[ProtectedAttribute],
    intersections: Sequence[tuple[str, ...]],
) -> list[Partition]:
    """One partition per protected attribute, then one per requested intersection."""
    named: dict[str, int | None] = {}
    for attribute, levels in zip(protected, table.levels, strict=True):
        if attribute.reference_rule == "named":
            named[attribute.name] = levels.index(attribute.reference)
        else:
            named[attribute.name] = None
    out = [_partition(table, (a.name,), named) for a in protected]
    # a "largest" reference of a single attribute also anchors that attribute's intersections
    for part in out:
        if named[part.attributes[0]] is None:
            named[part.attributes[0]] = part.cells[part.reference][0]
    out += [_partition(table, tuple(combo), named) for combo in intersections]
    return out


def all_combinations(names: Sequence[str], max_order: int) -> list[tuple[str, ...]]:
    """Every intersection of 2..max_order attributes, in a stable order."""
    return [c for k in range(2, max_order + 1) for c in itertools.combinations(names, k)]
