r"""Closed-form interval families as functions of the normal quantile ``z``, vectorized.

Every family here returns ``(low, high)`` arrays for a two-sided interval whose one-sided error on each
side is :math:`1 - \Phi(z)`: ``z = 1.96`` gives a 95% interval, ``z = 1.645`` a 90% one. Because each is
a closed-form function of ``z``, the decision rule (``stats.bounds``) can invert it into the p-value of a
test against any bound (test–interval duality), so a finding's interval and its tests always agree.

Families, following Fagerland, Lydersen & Laake (2015), *Recommended confidence intervals for two
independent binomial proportions*, Stat Methods Med Res 24(2):224–254:

- one rate: Wilson (1927) score interval;
- difference of rates: Newcombe's (1998) hybrid score interval (method 10), MOVER with Wilson limits;
- ratio of rates: MOVER-R with Wilson limits (Donner & Zou 2012);
- a sum of independent differences (average odds difference): MOVER (Zou & Donner 2008) over the
  Newcombe intervals of its terms — it never collapses to a point at rates of 0 or 1, unlike Wald.

Counts may be fractional (Kish effective counts under sample weights). Undefined inputs (``n == 0``)
give NaN; the functions do not silence numpy's warnings themselves (see :func:`wilson`), so callers wrap
them in ``np.errstate``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["mover_ratio", "mover_sum", "newcombe", "wilson"]

Pair = tuple[np.ndarray, np.ndarray]


def wilson(c: np.ndarray, n: np.ndarray, z: np.ndarray | float) -> Pair:
    """Wilson score limits for ``c / n``; at ``z = 0`` both equal ``c / n``.

    Called tens of times per inversion on small arrays, so it avoids ``np.clip`` and ``np.errstate``
    (their Python overhead dominates here); callers silence floating-point warnings around their loops.
    """
    c, n = np.asarray(c, float), np.asarray(n, float)
    z2 = np.square(z)
    p = c / n
    denominator = n + z2
    center = (c + z2 / 2) / denominator
    half = np.asarray(z) / denominator * np.sqrt(np.maximum(c * (n - c) / n, 0.0) + z2 / 4)
    return np.minimum(np.maximum(center - half, 0.0), p), np.maximum(np.minimum(center + half, 1.0), p)


def newcombe(c1: np.ndarray, n1: np.ndarray, c2: np.ndarray, n2: np.ndarray, z: np.ndarray | float) -> Pair:
    """Newcombe's hybrid score limits for ``c1/n1 - c2/n2``."""
    c1, n1, c2, n2 = (np.asarray(a, float) for a in (c1, n1, c2, n2))
    p1, p2 = c1 / n1, c2 / n2
    l1, u1 = wilson(c1, n1, z)
    l2, u2 = wilson(c2, n2, z)
    d = p1 - p2
    return d - np.hypot(p1 - l1, u2 - p2), d + np.hypot(u1 - p1, p2 - l2)


def mover_ratio(c1: np.ndarray, n1: np.ndarray, c2: np.ndarray, n2: np.ndarray, z: np.ndarray | float) -> Pair:
    """MOVER-R limits for ``(c1/n1) / (c2/n2)`` from Wilson limits (Donner & Zou 2012).

    The limits solve ``(p1 - θ p2)² = (p1 - l1)² + θ² (u2 - p2)²`` (lower) and its mirror (upper); they are
    written in the rationalized form, which stays finite when a quadratic coefficient vanishes. With
    ``c2 == 0`` the ratio is undefined (NaN); the upper limit is infinite when the reference's Wilson
    lower limit is 0.
    """
    c1, n1, c2, n2 = (np.asarray(a, float) for a in (c1, n1, c2, n2))
    p1, p2 = c1 / n1, c2 / n2
    l1, u1 = wilson(c1, n1, z)
    l2, u2 = wilson(c2, n2, z)
    q = p1 * p2
    a_low, c_low = u2 * (2 * p2 - u2), l1 * (2 * p1 - l1)
    low = c_low / (q + np.sqrt(np.maximum(q * q - a_low * c_low, 0.0)))
    low = np.where(c_low <= 0, 0.0, low)
    a_high, c_high = l2 * (2 * p2 - l2), u1 * (2 * p1 - u1)
    root = np.sqrt(np.maximum(q * q - a_high * c_high, 0.0))
    high = np.where(a_high > 0, (q + root) / a_high, np.inf)
    undefined = ~(p2 > 0) | ~np.isfinite(p1)
    return np.where(undefined, np.nan, low), np.where(undefined, np.nan, high)


def mover_sum(points: list[np.ndarray], limits: list[Pair]) -> Pair:
    """MOVER limits for the sum of independent estimates, each with its own interval (Zou & Donner 2008)."""
    total = sum(points)
    low = total - np.sqrt(sum(np.square(p - lo) for p, (lo, _) in zip(points, limits, strict=True)))
    high = total + np.sqrt(sum(np.square(hi - p) for p, (_, hi) in zip(points, limits, strict=True)))
    return np.asarray(low, float), np.asarray(high, float)
