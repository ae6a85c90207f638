r"""Generalized entropy indices in closed form from counts of the benefit :math:`b = \hat y - y + 1`.

AIF360 computes these over individual rows and ignores instance weights, so a weighted counts table
cannot be handed to it. With ``c_v`` people having benefit ``v`` in {0, 1, 2}, ``n = sum c_v`` and
``mu = sum v c_v / n``:

.. math::

    GE(\alpha) = \frac{1}{n\,\alpha(\alpha-1)} \sum_v c_v \left[(v/\mu)^\alpha - 1\right], \qquad
    GE(1) = \frac{1}{n}\sum_v c_v \frac{v}{\mu}\ln\frac{v}{\mu} \ (0 \ln 0 = 0).

The between-group index replaces each person's benefit by their group's mean benefit. Values are over
persons, as AIF360 computes them; sample weights are not applied.
"""

from __future__ import annotations

import numpy as np

__all__ = ["benefit_counts", "between_group_index", "generalized_entropy"]

# benefit of each (label, prediction) cell, indexed [label, prediction], "positive" meaning favorable
_BENEFIT_FAVORABLE_POSITIVE = np.array([[1, 2], [0, 1]])
_BENEFIT_FAVORABLE_NEGATIVE = np.array([[1, 0], [2, 1]])


def benefit_counts(people: np.ndarray, *, favorable_is_positive: bool) -> np.ndarray:
    """Collapse ``people[..., label, prediction]`` into ``[..., b]`` for b = 0, 1, 2."""
    benefit = _BENEFIT_FAVORABLE_POSITIVE if favorable_is_positive else _BENEFIT_FAVORABLE_NEGATIVE
    out = np.zeros(people.shape[:-2] + (3,))
    for y in (0, 1):
        for p in (0, 1):
            out[..., benefit[y, p]] += people[..., y, p]
    return out


def _index(values: np.ndarray, counts: np.ndarray, alpha: float) -> float | None:
    n = counts.sum()
    if n <= 0:
        return None
    mu = float((values * counts).sum() / n)
    if mu <= 0:
        return None
    ratio = values / mu
    if alpha == 1:
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(ratio > 0, ratio * np.log(ratio), 0.0)
        return float((counts * terms).sum() / n)
    return float((counts * (ratio**alpha - 1)).sum() / (n * alpha * (alpha - 1)))


def generalized_entropy(b_counts: np.ndarray, alpha: float = 2) -> float | None:
    """GE(alpha) over all persons from ``b_counts[b]``; ``None`` when undefined (no one, or mean 0)."""
    return _index(np.array([0.0, 1.0, 2.0]), np.asarray(b_counts, float), alpha)


def between_group_index(group_b_counts: np.ndarray, alpha: float = 2) -> float | None:
    """Between-group GE(alpha) from ``group_b_counts[group, b]`` (empty groups are ignored)."""
    counts = np.asarray(group_b_counts, float)
    n_g = counts.sum(axis=1)
    present = n_g > 0
    means = (counts[present] * np.array([0.0, 1.0, 2.0])).sum(axis=1) / n_g[present]
    return _index(means, n_g[present], alpha)
