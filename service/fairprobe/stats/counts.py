"""The counts table: one vectorized pass turns rows into per-cell sums that every metric needs.

Every group metric AIF360 defines is a function of per-group weighted counts of (label, prediction),
so an audit of a million rows reduces to a table of at most ``prod(levels) * 4`` cells.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["CountsTable", "encode", "tabulate"]


@dataclass(frozen=True, eq=False)
class CountsTable:
    """Sums over people, indexed ``[code_1, ..., code_k, label, prediction]``.

    ``label`` and ``prediction`` axes are 0/1 for "is the positive label". ``people`` counts persons,
    ``weight`` sums their sample weights (equal to ``people`` without weights) and ``weight_sq`` sums
    squared weights, so that the Kish effective size of any set of cells is ``weight**2 / weight_sq``.
    """

    attributes: tuple[str, ...]
    levels: tuple[tuple[object, ...], ...]
    people: np.ndarray
    weight: np.ndarray
    weight_sq: np.ndarray

    def collapse(self, attributes: Sequence[str]) -> CountsTable:
        """The same sums over the partition by ``attributes`` only (the others summed out)."""
        keep = [self.attributes.index(a) for a in attributes]
        drop = tuple(i for i in range(len(self.attributes)) if i not in keep)

        def fold(arr: np.ndarray) -> np.ndarray:
            summed = arr.sum(axis=drop) if drop else arr
            # the kept axes are now in their original order; put them in the requested order
            order = sorted(range(len(keep)), key=lambda j: keep[j])
            perm = [order.index(j) for j in range(len(keep))] + [len(keep), len(keep) + 1]
            return np.transpose(summed, perm)

        return CountsTable(
            attributes=tuple(attributes),
            levels=tuple(self.levels[i] for i in keep),
            people=fold(self.people),
            weight=fold(self.weight),
            weight_sq=fold(self.weight_sq),
        )


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
        # the codes already exist: keep the categories that occur, in sorted order
        raw = values.cat.codes.to_numpy(dtype=np.int64)
        used = np.flatnonzero(np.bincount(raw, minlength=len(values.cat.categories)))
        labels = [values.cat.categories[i] for i in used]
        order = sorted(range(len(used)), key=lambda j: labels[j])
        remap = np.full(len(values.cat.categories), -1, dtype=np.int64)
        remap[used[order]] = np.arange(len(order))
        return remap[raw], tuple(_plain(labels[j]) for j in order)
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int64, copy=False), tuple(_plain(v) for v in uniques)


def _plain(value: object) -> object:
    """numpy scalars to Python scalars, so labels serialise and compare as the user wrote them."""
    return value.item() if isinstance(value, np.generic) else value


def tabulate(
    codes: Sequence[np.ndarray],
    levels: Sequence[tuple[object, ...]],
    attributes: Sequence[str],
    label: np.ndarray,
    prediction: np.ndarray,
    weight: np.ndarray | None = None,
    *,
    people: np.ndarray | None = None,
) -> CountsTable:
    """One pass: mixed-radix cell index per row, then ``np.bincount`` per sum.

    ``weight`` are sample weights (``None``: every row weighs 1). For a counts table pass the counts
    as ``people`` (each person weighs 1, so ``weight`` and ``weight_sq`` equal the counts).
    """
    shape = tuple(len(lv) for lv in levels) + (2, 2)
    cell = np.zeros(label.shape[0], dtype=np.int64)
    for code, size in zip(codes, shape[:-2], strict=True):
        cell *= size
        cell += code
    cell *= 2
    cell += label
    cell *= 2
    cell += prediction
    size = int(np.prod(shape))
    if people is not None:
        n = np.bincount(cell, weights=people, minlength=size).reshape(shape)
        return CountsTable(tuple(attributes), tuple(levels), n, n, n)
    n = np.bincount(cell, minlength=size).reshape(shape).astype(np.float64)
    if weight is None:
        return CountsTable(tuple(attributes), tuple(levels), n, n, n)
    w = np.bincount(cell, weights=weight, minlength=size).reshape(shape)
    w2 = np.bincount(cell, weights=weight * weight, minlength=size).reshape(shape)
    return CountsTable(tuple(attributes), tuple(levels), n, w, w2)
