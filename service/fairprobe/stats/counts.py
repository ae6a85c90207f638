"""The counts table: one vectorized pass turns rows into per-cell sums that every metric needs.

Every group metric AIF360 defines is a function of per-group weighted counts of (label, prediction),
so an audit of a million rows reduces to a table of four cells per observed combination of group values.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["CountsTable", "cells_of_rows", "encode", "groups_of_cells", "radix_key", "row_cells", "tabulate"]


@dataclass(frozen=True, eq=False)
class CountsTable:
    """Sums over people for each *observed* combination of group values, by label and prediction.

    ``codes[r]`` holds the level codes of combination ``r`` (one column per attribute, rows sorted and
    unique); ``people``, ``weight`` and ``weight_sq`` are ``[r, label, prediction]`` with 0/1 meaning "is
    the positive label". ``people`` counts persons, ``weight`` sums their sample weights (equal to
    ``people`` without weights) and ``weight_sq`` squared weights, so the Kish effective size of any set of
    cells is ``weight**2 / weight_sq``. Only combinations that occur are stored, so five attributes of
    a thousand values each cost what their observed rows do, not a thousand to the fifth.
    """

    attributes: tuple[str, ...]
    levels: tuple[tuple[object, ...], ...]
    codes: np.ndarray
    people: np.ndarray
    weight: np.ndarray
    weight_sq: np.ndarray

    def collapse(self, attributes: Sequence[str]) -> CountsTable:
        """The same sums over the partition by ``attributes`` only (the others summed out)."""
        keep = [self.attributes.index(a) for a in attributes]
        levels = tuple(self.levels[i] for i in keep)
        codes, inverse = _combinations(self.codes[:, keep], levels)
        size = len(codes)

        def fold(arr: np.ndarray) -> np.ndarray:
            flat = inverse[:, None] * 4 + np.arange(4)[None, :]
            return np.bincount(flat.ravel(), weights=arr.reshape(-1, 4).ravel(), minlength=size * 4).reshape(-1, 2, 2)

        people = fold(self.people)
        same = self.weight is self.people
        weight = people if same else fold(self.weight)
        weight_sq = people if same else fold(self.weight_sq)
        return CountsTable(tuple(attributes), levels, codes, people, weight, weight_sq)


def radix_key(columns: Iterable[np.ndarray], sizes: Iterable[int], rows: int) -> np.ndarray:
    """Each row's mixed-radix number over code ``columns`` of ``sizes`` values each (C order: the last column
    varies fastest), so a combination of codes is one integer. The caller keeps the product of ``sizes``
    below 2**62."""
    key: np.ndarray | None = None
    for column, size in zip(columns, sizes, strict=True):
        if key is None:  # the first column is its own number (a copy: the caller's codes stay as they are)
            key = np.array(column, dtype=np.int64)
        else:
            key *= size
            key += column
    return key if key is not None else np.zeros(rows, dtype=np.int64)


def _combinations(codes: np.ndarray, levels: Sequence[tuple[object, ...]]) -> tuple[np.ndarray, np.ndarray]:
    """The unique rows of ``codes`` (sorted) and each input row's index among them.

    A mixed-radix number per row makes this one integer ``unique`` when the radix product fits in 62 bits
    (always, in practice); otherwise rows are compared as rows.
    """
    sizes = [max(len(lv), 1) for lv in levels]
    if not sizes:
        return np.zeros((1, 0), dtype=np.int64), np.zeros(codes.shape[0], dtype=np.int64)
    if float(np.prod([float(x) for x in sizes])) < 2.0**62:
        unique, inverse = np.unique(radix_key(codes.T, sizes, codes.shape[0]), return_inverse=True)
        return np.stack(np.unravel_index(unique, sizes), axis=1).astype(np.int64), inverse.astype(np.int64)
    unique, inverse = np.unique(codes, axis=0, return_inverse=True)
    return unique.astype(np.int64), inverse.reshape(-1).astype(np.int64)


def encode(values: pd.Series, bins: Sequence[float] | None = None) -> tuple[np.ndarray, tuple[object, ...]]:
    """Integer codes and their labels for one protected column; ``bins`` makes right-open bands.

    Labels are the sorted observed values, or for binned columns ``"< a"``, ``"[a, b)"``, ``">= z"``
    (only bands that occur are kept).
    """
    if bins is not None:
        edges = np.asarray(bins, dtype=float)
        band = np.digitize(values.to_numpy(dtype=float), edges, right=False)
        names = [f"< {edges[0]:g}"]
        names += [f"[{lo:g}, {hi:g})" for lo, hi in itertools.pairwise(edges)]
        names.append(f">= {edges[-1]:g}")
        present = np.flatnonzero(np.bincount(band, minlength=len(names)))
        remap = np.full(len(names), -1, dtype=np.int64)
        remap[present] = np.arange(present.size)
        return remap[band], tuple(names[i] for i in present)
    if isinstance(values.dtype, pd.CategoricalDtype) and values.cat.ordered is False:
        # the codes already exist: keep the categories that occur, in sorted order (one gather through a
        # lookup table of the categories)
        raw = values.cat.codes.to_numpy()
        used = _occurring(raw, len(values.cat.categories))
        labels = [values.cat.categories[int(i)] for i in used]
        order = sorted(range(len(used)), key=lambda j: labels[j])
        remap = np.full(len(values.cat.categories), -1, dtype=np.int64)
        remap[used[order]] = np.arange(len(order))
        return remap.take(raw), tuple(_plain(labels[j]) for j in order)
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int64, copy=False), tuple(_plain(v) for v in uniques)


#: up to this many categories, which of them occur is found by comparing the codes with each (a vectorized
#: compare of narrow codes is ~20x faster than counting them)
FEW_CATEGORIES = 16


def _occurring(codes: np.ndarray, categories: int) -> np.ndarray:
    """The category numbers that occur among ``codes`` (-1, a missing value, is none), in order."""
    if categories <= FEW_CATEGORIES:
        return np.array([j for j in range(categories) if (codes == j).any()], dtype=np.intp)
    return np.flatnonzero(np.bincount(codes[codes >= 0] if (codes < 0).any() else codes, minlength=categories))


def _plain(value: object) -> object:
    """numpy scalars to Python scalars, so labels serialise and compare as the user wrote them."""
    return value.item() if isinstance(value, np.generic) else value


#: up to this many possible combinations, a row's cell is counted in the dense table directly (4 sums per
#: combination: at most a few MB, whatever the rows)
SMALL_DENSE = 65_536.0


def tabulate(
    codes: Sequence[np.ndarray],
    levels: Sequence[tuple[object, ...]],
    attributes: Sequence[str],
    label: np.ndarray,
    prediction: np.ndarray,
    weight: np.ndarray | None = None,
    *,
    people: np.ndarray | None = None,
    cells: np.ndarray | None = None,
) -> CountsTable:
    """One pass: each row's observed combination, then ``np.bincount`` per sum.

    ``weight`` are sample weights (``None``: every row weighs 1). For a counts table pass the counts
    as ``people`` (each person weighs 1, so ``weight`` and ``weight_sq`` equal the counts). Combinations
    whose rows hold no one (a counts-table row with count 0) are dropped. ``cells`` are the rows'
    :func:`row_cells` when the caller has them already.
    """
    rows = label.shape[0]
    sizes = [max(len(lv), 1) for lv in levels]
    cell = cells if cells is not None else row_cells(codes, levels, label, prediction)
    if cell is not None:
        # few possible combinations: every one is a cell of the table, and only the combinations that hold
        # someone are kept below (no pass to find them first)
        dense = int(np.prod(sizes)) if sizes else 1
        combos = np.stack(np.unravel_index(np.arange(dense), sizes), axis=1).astype(np.int64) if sizes else \
            np.zeros((1, 0), dtype=np.int64)
    else:
        combos, cell = _dense_or_unique([np.asarray(c, dtype=np.int64) for c in codes], levels, rows)
        _add_outcomes(cell, label, prediction)
    size = len(combos) * 4

    def sums(values: np.ndarray | None) -> np.ndarray:
        return np.bincount(cell, weights=values, minlength=size).astype(np.float64).reshape(-1, 2, 2)

    if people is not None:
        n = sums(people)
        w = w2 = n
    else:
        n = sums(None)
        w, w2 = (n, n) if weight is None else (sums(weight), sums(weight * weight))
    occupied = n.reshape(-1, 4).sum(axis=1) > 0
    if not occupied.all():
        n, w, w2, combos = n[occupied], w[occupied], w2[occupied], combos[occupied]
    return CountsTable(tuple(attributes), tuple(levels), combos, n, w, w2)


def row_cells(codes: Sequence[np.ndarray], levels: Sequence[tuple[object, ...]], label: np.ndarray,
              prediction: np.ndarray) -> np.ndarray | None:
    """Each row's cell of the dense table: the mixed-radix number of its combination of ``codes``, times 4,
    plus 2 × label plus prediction (so cell ``d`` is combination ``d // 4``, label ``d // 2 % 2``, prediction
    ``d % 2``); None when there are more than ``SMALL_DENSE`` possible combinations."""
    sizes = [max(len(lv), 1) for lv in levels]
    if (float(np.prod([float(x) for x in sizes])) if sizes else 1.0) > SMALL_DENSE:
        return None
    cell = radix_key(codes, sizes, label.shape[0])
    _add_outcomes(cell, label, prediction)
    return cell


def _add_outcomes(cell: np.ndarray, label: np.ndarray, prediction: np.ndarray) -> None:
    """A combination number to its (combination, label, prediction) cell, in place. The two 0/1 columns are
    combined in one byte per row first: one pass over the wide cells instead of two."""
    outcome = np.asarray(label, dtype=np.int8) * np.int8(2)
    outcome += np.asarray(prediction, dtype=np.int8)
    cell *= 4
    cell += outcome


def _dense_or_unique(codes: Sequence[np.ndarray], levels: Sequence[tuple[object, ...]],
                     rows: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_combinations` of the columns ``codes``, with a bincount over the dense radix instead of a sort
    when the dense space is small next to the rows (the common case: a few attributes of a few values)."""
    sizes = [max(len(lv), 1) for lv in levels]
    dense = float(np.prod([float(x) for x in sizes])) if sizes else 1.0
    if dense > max(4.0 * rows, 65536.0):
        stacked = np.stack(codes, axis=1) if codes else np.zeros((rows, 0), dtype=np.int64)
        return _combinations(stacked, levels)
    key = radix_key(codes, sizes, rows)
    present = np.flatnonzero(np.bincount(key, minlength=int(dense)))
    remap = np.full(int(dense), -1, dtype=np.int64)
    remap[present] = np.arange(present.size)
    combos = np.stack(np.unravel_index(present, sizes), axis=1).astype(np.int64) if sizes else \
        np.zeros((1, 0), dtype=np.int64)
    return combos, remap[key]


def cells_of_rows(codes: Sequence[np.ndarray], table: CountsTable) -> np.ndarray:
    """Each row's index among ``table``'s combinations (the table was tabulated from these codes); -1 for a
    row whose combination holds no one. Per-row sums of other quantities (segments, outcomes) fold onto the
    same combinations with it, so every output kind extends the one counts table."""
    stacked = np.stack([np.asarray(c, dtype=np.int64) for c in codes], axis=1)
    sizes = [max(len(lv), 1) for lv in table.levels]
    if float(np.prod([float(x) for x in sizes])) >= 2.0**62:
        lookup = {tuple(row): i for i, row in enumerate(table.codes.tolist())}
        return np.array([lookup.get(tuple(row), -1) for row in stacked.tolist()], dtype=np.int64)

    table_keys = radix_key(table.codes.T, sizes, len(table.codes))
    row_keys = radix_key(stacked.T, sizes, len(stacked))
    at = np.minimum(np.searchsorted(table_keys, row_keys), len(table_keys) - 1)
    return np.where(table_keys[at] == row_keys, at, -1).astype(np.int64)


def groups_of_cells(table: CountsTable, attributes: Sequence[str]) -> np.ndarray:
    """For each of ``table``'s combinations, the index of its group in ``table.collapse(attributes)``."""
    keep = [table.attributes.index(a) for a in attributes]
    _, inverse = _combinations(table.codes[:, keep], [table.levels[i] for i in keep])
    return inverse
