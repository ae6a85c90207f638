r"""Tests against a policy's bound: every measured quantity as a family of intervals in ``z``.

A :class:`Measure` holds, for one or many comparisons at once (1-D arrays), what an interval needs:
counts for rates, moments for means. ``limits(z, k)`` gives the two-sided interval whose one-sided
error is :math:`1-\Phi(z)` on each side, for data ``k`` times as large at the same rates. From that one
function the decision rule gets, for any bound :math:`b`:

- :func:`p_greater` — the p-value of :math:`H_0: \theta \le b` against :math:`\theta > b`: the
  :math:`1-\Phi(z^*)` at which the interval's lower limit reaches :math:`b` (bisection in ``z``);
- :func:`p_less` — the same for :math:`\theta < b`, from the upper limit;
- :func:`scale_to_decide` — the factor ``k`` at which the interval at ``z`` clears a bound (sample size).

Measures with an exact or closed-form test (the binomial, Student's t) override the two p-values.
Inverting the interval makes the test and the interval one thing: a two-sided interval at level
:math:`1-2\alpha` lies above :math:`b` exactly when :func:`p_greater` is below :math:`\alpha`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import ClassVar, Self

import numpy as np
from scipy import special
from scipy import stats as sps

from fairprobe.stats.intervals import Pair, mover_ratio, mover_sum, newcombe

__all__ = [
    "AverageOdds",
    "Measure",
    "PairedMean",
    "Proportion",
    "RateDifference",
    "RateRatio",
    "WelchMean",
    "p_greater",
    "p_less",
    "scale_to_decide",
    "signed_limits",
    "z_for",
]

#: the widest z searched: 1 - Phi(37) is about 6e-300, the smallest p-value reported
Z_MAX = 37.0
#: bisection steps: 2 * Z_MAX / 2**52 resolves z to 2e-14
STEPS = 52
#: sample-size search: k from 2**-10 to 2**40 times the data
LOG2_K = (-10.0, 40.0)


def z_for(tail: float) -> float:
    """The normal quantile whose upper tail is ``tail`` (``z_for(0.05)`` is 1.645)."""
    return float(sps.norm.isf(tail))


@dataclasses.dataclass(frozen=True, eq=False)
class Measure:
    """Base of every measure: 1-D arrays of equal length, one element per comparison."""

    method: ClassVar[str]  # the interval family, e.g. "newcombe_hybrid_score"
    test: ClassVar[str]  # the test against a bound that inverts it
    floor: ClassVar[float | None] = None  # the smallest value the quantity can take (0 for ratios)

    def limits(self, z: np.ndarray, k: np.ndarray | float = 1.0) -> Pair:
        raise NotImplementedError

    def __len__(self) -> int:
        return len(np.asarray(getattr(self, dataclasses.fields(self)[0].name)))

    def take(self, index: np.ndarray) -> Self:
        """The comparisons at ``index`` (an integer or boolean array)."""
        return type(self)(**{f.name: np.asarray(getattr(self, f.name))[index] for f in dataclasses.fields(self)})

    @classmethod
    def stack(cls, parts: Sequence[Self]) -> Self:
        """One measure over the comparisons of ``parts`` (all of this class), in order."""
        return cls(**{f.name: np.concatenate([np.atleast_1d(np.asarray(getattr(p, f.name), float)) for p in parts])
                      for f in dataclasses.fields(cls)})

    def p_greater(self, bound: np.ndarray) -> np.ndarray:
        """p-value of ``θ <= bound`` against ``θ > bound``, by inverting the lower limit."""
        return _invert(lambda z: signed_limits(self, z)[0], bound, decreasing=True)

    def p_less(self, bound: np.ndarray) -> np.ndarray:
        """p-value of ``θ >= bound`` against ``θ < bound``, by inverting the upper limit."""
        return _invert(lambda z: signed_limits(self, z)[1], bound, decreasing=False)


def signed_limits(measure: Measure, z: np.ndarray, k: np.ndarray | float = 1.0) -> Pair:
    """Limits extended to negative ``z``: the lower limit at ``-z`` is the upper one at ``z``.

    Over the whole line the lower limit then decreases in ``z`` and the upper one increases, which is
    what inverting them into p-values needs.
    """
    z = np.asarray(z, float)
    low, high = measure.limits(np.abs(z), k)
    negative = z < 0
    return np.where(negative, high, low), np.where(negative, low, high)


def _invert(limit: Callable[[np.ndarray], np.ndarray], bound: np.ndarray, *, decreasing: bool) -> np.ndarray:
    """``1 - Phi(z*)`` where ``limit(z*) == bound``, by vectorized bisection over ``[-Z_MAX, Z_MAX]``."""
    bound = np.asarray(bound, float)
    low = np.full(bound.shape, -Z_MAX)
    high = np.full(bound.shape, Z_MAX)
    for _ in range(STEPS):
        mid = (low + high) / 2
        value = limit(mid)
        # the limit is still on the far side of the bound: the crossing lies at larger z
        further = value > bound if decreasing else value < bound
        low = np.where(further, mid, low)
        high = np.where(further, high, mid)
    return np.asarray(sps.norm.sf((low + high) / 2), float)


def p_greater(measure: Measure, bound: np.ndarray) -> np.ndarray:
    """p-value for ``θ > bound``; 0 where the bound is ``-inf`` or below the quantity's floor."""
    bound = np.broadcast_to(np.asarray(bound, float), (len(measure),))
    trivial = np.isneginf(bound) | ((bound < measure.floor) if measure.floor is not None else False)
    impossible = np.isposinf(bound)
    return _where_needed(measure, bound, np.where(trivial, 0.0, 1.0), ~(trivial | impossible),
                         lambda m, b: m.p_greater(b))


def p_less(measure: Measure, bound: np.ndarray) -> np.ndarray:
    """p-value for ``θ < bound``; 0 where the bound is ``+inf``, 1 where nothing lies below it."""
    bound = np.broadcast_to(np.asarray(bound, float), (len(measure),))
    trivial = np.isposinf(bound)
    impossible = np.isneginf(bound) | ((bound <= measure.floor) if measure.floor is not None else False)
    return _where_needed(measure, bound, np.where(trivial, 0.0, 1.0), ~(trivial | impossible),
                         lambda m, b: m.p_less(b))


def _where_needed(measure: Measure, bound: np.ndarray, settled: np.ndarray, needed: np.ndarray,
                  test: Callable[[Measure, np.ndarray], np.ndarray]) -> np.ndarray:
    """``settled`` with the comparisons that need a test replaced by it (only those are computed)."""
    out = np.array(settled, float)
    if needed.all():
        return np.asarray(test(measure, bound), float)
    if needed.any():
        index = np.flatnonzero(needed)
        out[index] = test(measure.take(index), bound[index])
    return out


def scale_to_decide(measure: Measure, z: float, done: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    """The smallest factor ``k`` for which ``done(low, high)`` holds of the interval at ``z`` (NaN: none).

    ``done`` must turn true as the interval narrows (larger ``k``); it is searched on ``log2 k`` in
    :data:`LOG2_K` by bisection.
    """
    n = len(measure)
    zs = np.full(n, z)
    low = np.full(n, LOG2_K[0])
    high = np.full(n, LOG2_K[1])
    reachable = done(*signed_limits(measure, zs, 2.0 ** high))
    for _ in range(40):
        mid = (low + high) / 2
        ok = done(*signed_limits(measure, zs, 2.0**mid))
        high = np.where(ok, mid, high)
        low = np.where(ok, low, mid)
    return np.where(reachable, 2.0**high, np.nan)


# ------------------------------------------------------------------ rates


@dataclasses.dataclass(frozen=True, eq=False)
class _TwoRates(Measure):
    """Successes and trials (effective, possibly fractional) of a group (1) and its reference (2)."""

    c1: np.ndarray
    n1: np.ndarray
    c2: np.ndarray
    n2: np.ndarray


@dataclasses.dataclass(frozen=True, eq=False)
class RateDifference(_TwoRates):
    """``c1/n1 - c2/n2`` with Newcombe's hybrid score interval."""

    method: ClassVar[str] = "newcombe_hybrid_score"
    test: ClassVar[str] = "newcombe_score_test_vs_bound"

    def limits(self, z: np.ndarray, k: np.ndarray | float = 1.0) -> Pair:
        return newcombe(self.c1 * k, self.n1 * k, self.c2 * k, self.n2 * k, z)


@dataclasses.dataclass(frozen=True, eq=False)
class RateRatio(_TwoRates):
    """``(c1/n1) / (c2/n2)`` with the MOVER-R Wilson interval."""

    method: ClassVar[str] = "mover_r_wilson"
    test: ClassVar[str] = "mover_r_wilson_test_vs_bound"
    floor: ClassVar[float | None] = 0.0

    def limits(self, z: np.ndarray, k: np.ndarray | float = 1.0) -> Pair:
        return mover_ratio(self.c1 * k, self.n1 * k, self.c2 * k, self.n2 * k, z)


@dataclasses.dataclass(frozen=True, eq=False)
class AverageOdds(Measure):
    """``[(TPR1 - TPR2) + (FPR1 - FPR2)] / 2``: MOVER over the two Newcombe intervals.

    The TPR terms count label positives, the FPR terms label negatives: disjoint people, so the two
    differences are independent and MOVER's sum applies.
    """

    tp1: np.ndarray
    pos1: np.ndarray
    tp2: np.ndarray
    pos2: np.ndarray
    fp1: np.ndarray
    neg1: np.ndarray
    fp2: np.ndarray
    neg2: np.ndarray

    method: ClassVar[str] = "mover_newcombe"
    test: ClassVar[str] = "mover_newcombe_test_vs_bound"

    def limits(self, z: np.ndarray, k: np.ndarray | float = 1.0) -> Pair:
        with np.errstate(divide="ignore", invalid="ignore"):
            d_tpr = self.tp1 / self.pos1 - self.tp2 / self.pos2
            d_fpr = self.fp1 / self.neg1 - self.fp2 / self.neg2
        low, high = mover_sum(
            [d_tpr, d_fpr],
            [newcombe(self.tp1 * k, self.pos1 * k, self.tp2 * k, self.pos2 * k, z),
             newcombe(self.fp1 * k, self.neg1 * k, self.fp2 * k, self.neg2 * k, z)],
        )
        return low / 2, high / 2


@dataclasses.dataclass(frozen=True, eq=False)
class Proportion(Measure):
    """One rate ``c / n`` (a flip rate, a discrimination rate): Clopper–Pearson, and exact binomial tests.

    ``c`` may be fractional (a profile's share of changed name slots); the beta-function forms of the
    binomial tail below take it as it is.
    """

    c: np.ndarray
    n: np.ndarray

    method: ClassVar[str] = "clopper_pearson"
    test: ClassVar[str] = "exact_binomial_vs_bound"
    floor: ClassVar[float | None] = 0.0

    def limits(self, z: np.ndarray, k: np.ndarray | float = 1.0) -> Pair:
        c, n = self.c * k, self.n * k
        tail = sps.norm.sf(z)
        with np.errstate(divide="ignore", invalid="ignore"):
            low = np.where(c > 0, sps.beta.ppf(tail, np.maximum(c, 1e-300), n - c + 1), 0.0)
            high = np.where(c < n, sps.beta.ppf(1 - tail, c + 1, np.maximum(n - c, 1e-300)), 1.0)
        return np.asarray(low, float), np.asarray(high, float)

    def p_greater(self, bound: np.ndarray) -> np.ndarray:
        # P(X >= c | n, bound) = I_bound(c, n - c + 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            p = special.betainc(np.maximum(self.c, 1e-300), self.n - self.c + 1, np.clip(bound, 0, 1))
        return np.where(self.c <= 0, 1.0, np.where(bound >= 1, 1.0, np.where(bound <= 0, 0.0, p)))

    def p_less(self, bound: np.ndarray) -> np.ndarray:
        # P(X <= c | n, bound) = I_{1-bound}(n - c, c + 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            p = special.betainc(np.maximum(self.n - self.c, 1e-300), self.c + 1, np.clip(1 - bound, 0, 1))
        return np.where(self.c >= self.n, 1.0, np.where(bound <= 0, 1.0, np.where(bound >= 1, 0.0, p)))


# ------------------------------------------------------------------ means


@dataclasses.dataclass(frozen=True, eq=False)
class _Mean(Measure):
    """A mean (or a difference of means) with Student's t: ``var1/n1 + var2/n2`` is its variance.

    ``n2 == 0`` means one sample (a paired difference): df = n1 - 1. Otherwise Welch–Satterthwaite.
    """

    mean: np.ndarray
    var1: np.ndarray
    n1: np.ndarray
    var2: np.ndarray
    n2: np.ndarray

    def _se_df(self, k: np.ndarray | float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        n1, n2 = self.n1 * k, self.n2 * k
        with np.errstate(divide="ignore", invalid="ignore"):
            a = self.var1 / n1
            b = np.where(n2 > 0, self.var2 / n2, 0.0)
            se = np.sqrt(a + b)
            welch = (a + b) ** 2 / (a**2 / (n1 - 1) + np.where(n2 > 1, b**2 / (n2 - 1), 0.0))
            df = np.where(n2 > 0, np.where(np.isfinite(welch), welch, n1 + n2 - 2), n1 - 1)
        return se, np.maximum(df, 1.0)

    def limits(self, z: np.ndarray, k: np.ndarray | float = 1.0) -> Pair:
        se, df = self._se_df(k)
        half = sps.t.isf(sps.norm.sf(z), df) * se
        half = np.where(se > 0, half, 0.0)
        return self.mean - half, self.mean + half

    def p_greater(self, bound: np.ndarray) -> np.ndarray:
        se, df = self._se_df()
        with np.errstate(divide="ignore", invalid="ignore"):
            p = sps.t.sf((self.mean - bound) / se, df)
        return np.where(se > 0, p, np.where(self.mean > bound, 0.0, 1.0))

    def p_less(self, bound: np.ndarray) -> np.ndarray:
        se, df = self._se_df()
        with np.errstate(divide="ignore", invalid="ignore"):
            p = sps.t.cdf((self.mean - bound) / se, df)
        return np.where(se > 0, p, np.where(self.mean < bound, 0.0, 1.0))


@dataclasses.dataclass(frozen=True, eq=False)
class PairedMean(_Mean):
    """Mean of paired differences over profiles: the paired t interval and test."""

    method: ClassVar[str] = "t_interval_paired"
    test: ClassVar[str] = "paired_t_test_vs_bound"


@dataclasses.dataclass(frozen=True, eq=False)
class WelchMean(_Mean):
    """Difference of two independent means: Welch's interval and test."""

    method: ClassVar[str] = "welch_t"
    test: ClassVar[str] = "welch_t_test_vs_bound"
