r"""Tests against a policy's bound: every measured quantity as a family of intervals in ``z``.

A :class:`Measure` holds, for one or many comparisons at once (1-D arrays), what an interval needs:
counts for rates, moments for means. ``limits(z, k)`` gives the two-sided interval whose one-sided
error is :math:`1-\Phi(z)` on each side, for data ``k`` times as large at the same rates. From that one
function the decision rule gets, for any bound :math:`b`:

- :func:`tails` — the p-values of :math:`\theta > b` and of :math:`\theta < b`: :math:`1-\Phi(z^*)` and
  :math:`\Phi(z^*)` for the ``z*`` at which the interval's lower limit reaches :math:`b` (one root search;
  the upper limit reaches it at ``-z*``);
- :func:`scale_to_reach` — the factor ``k`` at which the interval at ``z`` reaches a bound (sample size).

Measures with an exact or closed-form test (the binomial, Student's t) override the two p-values.
Inverting the interval makes the test and the interval one thing: a two-sided interval at level
:math:`1-2\alpha` lies above :math:`b` exactly when :func:`p_greater` is below :math:`\alpha`.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Sequence
from statistics import NormalDist
from typing import ClassVar, Self

import numpy as np
from scipy import special
from scipy import stats as sps

from fairprobe.stats.intervals import Pair, mover_ratio, mover_sum, newcombe

__all__ = [
    "AverageOdds",
    "EffectSize",
    "Measure",
    "Normal",
    "PairedMean",
    "Proportion",
    "RateDifference",
    "RateRatio",
    "ScaledProportion",
    "WelchMean",
    "crossing",
    "p_greater",
    "p_less",
    "scale_to_reach",
    "signed_limits",
    "tails",
    "z_for",
]

#: the widest z searched: 1 - Phi(37) is about 6e-300, the smallest p-value reported
Z_MAX = 37.0
#: secant steps tried from a guess before a bracketed search takes over
SECANT_STEPS = 8
#: sample-size search: k from 2**-10 to 2**40 times the data
LOG2_K = (-10.0, 40.0)


_NORMAL = NormalDist()


def _norm_sf(z: np.ndarray | float) -> np.ndarray:
    """The standard normal upper tail, as scipy.stats.norm.sf computes it (ndtr(-z)) without the per-call
    argument handling of its distribution objects: the root searches below call it thousands of times."""
    return np.asarray(special.ndtr(-np.asarray(z, float)), float)


def z_for(tail: float) -> float:
    """The normal quantile whose upper tail is ``tail`` (``z_for(0.05)`` is 1.645).

    The standard library's (Wichura's AS 241, double precision): scipy's costs 20 us a call, and intervals
    ask for it many times per audit.
    """
    return -_NORMAL.inv_cdf(tail)


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

    def tails(self, bound: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The p-values of ``θ > bound`` and of ``θ < bound``, from one inversion.

        The signed ``z*`` at which the lower limit reaches the bound gives ``1 - Phi(z*)`` for "greater";
        the upper limit reaches it at ``-z*`` (the signed extension mirrors the limits), so "less" is
        ``Phi(z*)``, computed as ``1 - Phi(-z*)`` so that neither tail loses its small values.
        """
        z = _inverse_z(self, bound)
        return np.asarray(_norm_sf(z), float), np.asarray(_norm_sf(-z), float)

    def p_greater(self, bound: np.ndarray) -> np.ndarray:
        """p-value of ``θ <= bound`` against ``θ > bound``."""
        return self.tails(bound)[0]

    def p_less(self, bound: np.ndarray) -> np.ndarray:
        """p-value of ``θ >= bound`` against ``θ < bound``."""
        return self.tails(bound)[1]


def signed_limits(measure: Measure, z: np.ndarray, k: np.ndarray | float = 1.0) -> Pair:
    """Limits extended to negative ``z``: the lower limit at ``-z`` is the upper one at ``z``.

    Over the whole line the lower limit then decreases in ``z`` and the upper one increases, which is
    what inverting them into p-values needs.
    """
    z = np.asarray(z, float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        low, high = measure.limits(np.abs(z), k)
    negative = z < 0
    return np.where(negative, high, low), np.where(negative, low, high)


def crossing(f: Callable[[np.ndarray], np.ndarray], low: np.ndarray, high: np.ndarray, *,
             tolerance: float = 1e-11, steps: int = 200) -> np.ndarray:
    """Per element, the ``x`` in ``[low, high]`` where the monotone ``f`` crosses zero.

    Vectorized Illinois (false position with the stale end's value halved), with a bisection step
    whenever the secant step is not finite, leaves the bracket, or two steps in a row failed to halve it:
    superlinear where the function is smooth, never slower than bisection where it is flat. Where ``f``
    does not change sign on the bracket, the end nearer to zero is returned (the caller knows which side
    that means).
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return _crossing(f, np.array(low, float), np.array(high, float), tolerance, steps)


def _crossing(f: Callable[[np.ndarray], np.ndarray], low: np.ndarray, high: np.ndarray, tolerance: float,
              steps: int) -> np.ndarray:
    f_low, f_high = f(low), f(high)
    negative_low = f_low < 0
    bracketed = negative_low != (f_high < 0)
    # no sign change: the end whose value is nearer zero (an infinite or NaN value counts as far)
    out = np.where(np.nan_to_num(np.abs(f_low), nan=np.inf) <= np.nan_to_num(np.abs(f_high), nan=np.inf),
                   low, high)
    # no previous iterate yet (NaN): a first step that lands on the bracket's midpoint is not convergence
    x = np.where(bracketed, np.nan, out)
    active = bracketed.copy()
    stale = np.zeros(low.shape, dtype=np.int8)  # -1: low kept last time, +1: high kept last time
    slow = np.zeros(low.shape, dtype=np.int8)  # secant steps in a row that barely moved the bracket
    for _ in range(steps):
        if not active.any():
            break
        width = np.abs(high - low)
        step = high - f_high * (high - low) / (f_high - f_low)
        unsafe = ~np.isfinite(step) | (step <= np.minimum(low, high)) | (step >= np.maximum(low, high)) | (slow >= 3)
        step = np.where(unsafe, (low + high) / 2, step)
        fx = f(step)
        fx = np.where(np.isnan(fx), np.where(negative_low, np.inf, -np.inf), fx)  # NaN: treat as past the root
        moves_low = (fx < 0) == negative_low
        keep = active & moves_low
        low, f_low = np.where(keep, step, low), np.where(keep, fx, f_low)
        f_high = np.where(keep & (stale == 1), f_high / 2, f_high)
        keep_high = active & ~moves_low
        high, f_high = np.where(keep_high, step, high), np.where(keep_high, fx, f_high)
        f_low = np.where(keep_high & (stale == -1), f_low / 2, f_low)
        stale = np.where(keep, 1, np.where(keep_high, -1, stale)).astype(np.int8)
        slow = np.where(np.abs(high - low) <= 0.9 * width, 0, slow + 1).astype(np.int8)
        # converged: the iterates agree, the bracket is tight, or the root was hit exactly
        done = (np.abs(step - x) <= tolerance * (1 + np.abs(step))) | \
            (np.abs(high - low) <= tolerance * (1 + np.abs(step))) | (fx == 0)
        x = np.where(active, step, x)
        active &= ~done
    return np.where(bracketed, x, out)


Equation = Callable[[np.ndarray | None], Callable[[np.ndarray], np.ndarray]]


def _solve(equation: Equation, guess: np.ndarray, spread: float, full: tuple[float, float],
           tolerance: float) -> np.ndarray:
    """The zero of ``equation`` per comparison: secant steps from a guess, then a bracketed search where
    they do not settle.

    The guess comes from the interval's local slope and is usually close; the functions here are smooth
    and monotone, so a few secant steps converge. A comparison whose secant steps leave ``full``, stall or
    do not settle within :data:`SECANT_STEPS` is solved by :func:`crossing` on ``guess ± spread``, and,
    where the zero is not there either, on the whole of ``full``. ``equation(index)`` is the function
    whose zero is sought, for the comparisons at ``index`` (``None``: all of them).
    """
    guess = np.clip(np.nan_to_num(guess, nan=0.0, posinf=full[1], neginf=full[0]), *full)
    f = equation(None)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        x0, x1 = guess, guess + spread / 8
        f0, f1 = f(x0), f(x1)
        settled = np.zeros(guess.shape, dtype=bool)
        for _ in range(SECANT_STEPS):
            x2 = x1 - f1 * (x1 - x0) / (f1 - f0)
            x2 = np.where(settled, x1, x2)
            settled |= np.abs(x2 - x1) <= tolerance * (1 + np.abs(x2))
            if settled.all() or not np.isfinite(x2).all() or ((x2 < full[0]) | (x2 > full[1])).any():
                x1 = x2
                break
            x0, f0, x1 = x1, f1, x2
            f1 = f(x1)
    x = np.where(settled & np.isfinite(x1) & (x1 >= full[0]) & (x1 <= full[1]), x1, np.nan)
    unsettled = np.isnan(x)
    if unsettled.any():
        index = np.flatnonzero(unsettled)
        low = np.maximum(guess[index] - spread, full[0])
        high = np.minimum(guess[index] + spread, full[1])
        found = crossing(equation(index), low, high, tolerance=tolerance)
        # at an end of the narrow bracket that is not an end of the whole range: the zero may lie beyond it
        missed = ((found <= low) & (low > full[0])) | ((found >= high) & (high < full[1]))
        if missed.any():
            wide = index[missed]
            found[missed] = crossing(equation(wide), np.full(wide.size, full[0]), np.full(wide.size, full[1]),
                                     tolerance=tolerance)
        x[index] = found
    return x


def _inverse_z(measure: Measure, bound: np.ndarray) -> np.ndarray:
    """The signed ``z*`` at which the interval's lower limit reaches ``bound``, on ``[-Z_MAX, Z_MAX]``."""
    bound = np.asarray(bound, float)
    n = len(bound)
    point = signed_limits(measure, np.zeros(n))[0]
    spread = np.abs(signed_limits(measure, np.ones(n))[0] - point)  # about one standard error
    with np.errstate(divide="ignore", invalid="ignore"):
        guess = (point - bound) / spread

    def equation(index: np.ndarray | None) -> Callable[[np.ndarray], np.ndarray]:
        part, target = (measure, bound) if index is None else (measure.take(index), bound[index])
        return lambda zs: signed_limits(part, zs)[0] - target  # decreasing in z

    return _solve(equation, guess, 1.0, (-Z_MAX, Z_MAX), 1e-10)


def tails(measure: Measure, bound: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(p-value for ``θ > bound``, p-value for ``θ < bound``) per comparison.

    An infinite bound, or one at or below the quantity's floor, needs no test: ``θ > -inf`` holds (0),
    ``θ < -inf`` cannot be shown (1), and so on.
    """
    bound = np.broadcast_to(np.asarray(bound, float), (len(measure),))
    floor = -np.inf if measure.floor is None else measure.floor
    greater = np.where(bound < floor, 0.0, np.where(np.isposinf(bound), 1.0, np.nan))
    less = np.where(bound <= floor, 1.0, np.where(np.isposinf(bound), 0.0, np.nan))
    needed = np.isnan(greater) | np.isnan(less)
    if needed.any():
        index = np.flatnonzero(needed)
        part = measure if index.size == len(bound) else measure.take(index)
        up, down = part.tails(bound[index])
        greater[index] = np.where(np.isnan(greater[index]), up, greater[index])
        less[index] = np.where(np.isnan(less[index]), down, less[index])
    return greater, less


def p_greater(measure: Measure, bound: np.ndarray) -> np.ndarray:
    """p-value for ``θ > bound``; 0 where the bound is ``-inf`` or below the quantity's floor."""
    return tails(measure, bound)[0]


def p_less(measure: Measure, bound: np.ndarray) -> np.ndarray:
    """p-value for ``θ < bound``; 0 where the bound is ``+inf``, 1 where nothing lies below it."""
    return tails(measure, bound)[1]


def scale_to_reach(measure: Measure, z: float, side: np.ndarray, bound: np.ndarray) -> np.ndarray:
    """Per comparison, the factor ``k`` on the data at which the interval's limit at ``z`` reaches ``bound``.

    ``side`` is True for the lower limit (which rises to the estimate as data grows) and False for the
    upper one. NaN where even 2**40 times the data would not get there (the estimate sits on the bound);
    ``2**-10`` where the data is already more than enough. Found on ``log2 k`` to 1e-3 (a sample size to
    within 0.1%).
    """
    n = len(measure)
    side, bound = np.asarray(side, bool), np.asarray(bound, float)

    def equation(index: np.ndarray | None) -> Callable[[np.ndarray], np.ndarray]:
        part, lower, target = (measure, side, bound) if index is None else \
            (measure.take(index), side[index], bound[index])
        zs = np.full(len(part), z)

        def gap(log2_k: np.ndarray) -> np.ndarray:
            low, high = signed_limits(part, zs, 2.0**log2_k)
            # lower limit: bound - low falls to 0 as k grows; upper limit: high - bound falls to 0
            return np.where(lower, target - low, high - target)

        return gap

    # an interval's half-width shrinks as 1/sqrt(k): the width now and the distance to go guess k
    now = equation(None)(np.zeros(n))
    point = signed_limits(measure, np.zeros(n))[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        guess = 2 * np.log2(np.abs(now + np.abs(bound - point)) / np.abs(bound - point))
    log2_k = _solve(equation, guess, 2.0, LOG2_K, 1e-3)
    reached = equation(None)(np.full(n, LOG2_K[1])) <= 0
    return np.where(reached, 2.0**log2_k, np.nan)


# ------------------------------------------------------------------ rates


Four = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _scaled(arrays: Four, k: np.ndarray | float) -> Four:
    """The counts for data ``k`` times as large (the same arrays when ``k`` is 1: the common, hot case)."""
    if isinstance(k, float) and k == 1.0:
        return arrays
    c1, n1, c2, n2 = arrays
    return c1 * k, n1 * k, c2 * k, n2 * k


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
        return newcombe(*_scaled((self.c1, self.n1, self.c2, self.n2), k), z)


@dataclasses.dataclass(frozen=True, eq=False)
class RateRatio(_TwoRates):
    """``(c1/n1) / (c2/n2)`` with the MOVER-R Wilson interval."""

    method: ClassVar[str] = "mover_r_wilson"
    test: ClassVar[str] = "mover_r_wilson_test_vs_bound"
    floor: ClassVar[float | None] = 0.0

    def limits(self, z: np.ndarray, k: np.ndarray | float = 1.0) -> Pair:
        return mover_ratio(*_scaled((self.c1, self.n1, self.c2, self.n2), k), z)


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
        d_tpr = self.tp1 / self.pos1 - self.tp2 / self.pos2
        d_fpr = self.fp1 / self.neg1 - self.fp2 / self.neg2
        low, high = mover_sum(
            [d_tpr, d_fpr],
            [newcombe(*_scaled((self.tp1, self.pos1, self.tp2, self.pos2), k), z),
             newcombe(*_scaled((self.fp1, self.neg1, self.fp2, self.neg2), k), z)],
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
        tail = _norm_sf(z)
        with np.errstate(divide="ignore", invalid="ignore"):
            low = np.where(c > 0, special.betaincinv(np.maximum(c, 1e-300), n - c + 1, tail), 0.0)
            high = np.where(c < n, special.betaincinv(c + 1, np.maximum(n - c, 1e-300), 1 - tail), 1.0)
        return np.asarray(low, float), np.asarray(high, float)

    def tails(self, bound: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact binomial tails: P(X >= c | bound) = I_bound(c, n - c + 1), P(X <= c | bound) =
        I_{1-bound}(n - c, c + 1)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            up = special.betainc(np.maximum(self.c, 1e-300), self.n - self.c + 1, np.clip(bound, 0, 1))
            down = special.betainc(np.maximum(self.n - self.c, 1e-300), self.c + 1, np.clip(1 - bound, 0, 1))
        up = np.where(self.c <= 0, 1.0, np.where(bound >= 1, 1.0, np.where(bound <= 0, 0.0, up)))
        down = np.where(self.c >= self.n, 1.0, np.where(bound <= 0, 1.0, np.where(bound >= 1, 0.0, down)))
        return up, down


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
        half = -special.stdtrit(df, _norm_sf(z)) * se
        half = np.where(se > 0, half, 0.0)
        return self.mean - half, self.mean + half

    def tails(self, bound: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Student's t tails of ``(mean - bound) / se``; a zero spread shows the side outright."""
        se, df = self._se_df()
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (self.mean - bound) / se
            up, down = special.stdtr(df, -t), special.stdtr(df, t)
        return (np.where(se > 0, up, np.where(self.mean > bound, 0.0, 1.0)),
                np.where(se > 0, down, np.where(self.mean < bound, 0.0, 1.0)))


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


# ------------------------------------------------------------------ estimates with a standard error


@dataclasses.dataclass(frozen=True, eq=False)
class Normal(Measure):
    """An estimate with a large-sample standard error: ``value ± z se`` (Wald), or on the log scale where
    ``log`` is 1 (``exp(log value ± z se)``, for ratios, with ``se`` the log's). Used for AUCs (Hanley–McNeil
    standard error) and Mantel–Haenszel pooled differences (Sato's variance) and ratios (Greenland–Robins').
    """

    value: np.ndarray
    se: np.ndarray
    log: np.ndarray

    method: ClassVar[str] = "wald"
    test: ClassVar[str] = "wald_z_test_vs_bound"

    def limits(self, z: np.ndarray, k: np.ndarray | float = 1.0) -> Pair:
        half = np.asarray(z, float) * self.se / np.sqrt(k)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_value = np.log(np.where(self.log > 0, self.value, 1.0))
        linear = (self.value - half, self.value + half)
        logged = (np.exp(log_value - half), np.exp(log_value + half))
        return np.where(self.log > 0, logged[0], linear[0]), np.where(self.log > 0, logged[1], linear[1])

    def tails(self, bound: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with np.errstate(divide="ignore", invalid="ignore"):
            centre = np.where(self.log > 0, np.log(np.where(self.log > 0, self.value, 1.0)), self.value)
            target = np.where(self.log > 0, np.log(np.where(self.log > 0, np.maximum(bound, 0.0), 1.0)), bound)
            z = (centre - target) / self.se
        up = np.where(self.se > 0, _norm_sf(z), np.where(centre > target, 0.0, 1.0))
        down = np.where(self.se > 0, _norm_sf(-z), np.where(centre < target, 0.0, 1.0))
        return np.asarray(up, float), np.asarray(down, float)


@dataclasses.dataclass(frozen=True, eq=False)
class ScaledProportion(Measure):
    """``(c / n) / expected``: a group's share against its expected share (a representation ratio), with
    the Clopper–Pearson interval divided by ``expected`` and exact binomial tests at ``bound · expected``."""

    c: np.ndarray
    n: np.ndarray
    expected: np.ndarray

    method: ClassVar[str] = "clopper_pearson_scaled"
    test: ClassVar[str] = "exact_binomial_vs_bound"
    floor: ClassVar[float | None] = 0.0

    def limits(self, z: np.ndarray, k: np.ndarray | float = 1.0) -> Pair:
        low, high = Proportion(self.c, self.n).limits(z, k)
        return low / self.expected, high / self.expected

    def tails(self, bound: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return Proportion(self.c, self.n).tails(np.asarray(bound, float) * self.expected)


@dataclasses.dataclass(frozen=True, eq=False)
class EffectSize(Measure):
    """Cramér's V (``df2`` infinite: a chi-square statistic) or the correlation ratio η (``df2`` finite: a
    one-way ANOVA F statistic), with the interval that inverts the noncentral distribution of the statistic
    (Smithson 2003; Steiger 2004). ``statistic`` is chi-square, or F; ``df1`` its degrees of freedom; ``n``
    the people counted; ``m`` Cramér's ``min(rows, columns) - 1`` (unused for η).

    A noncentrality ``λ`` maps to the effect as ``V = sqrt(λ / (n m))`` and ``η = sqrt(λ / (λ + n))``; the
    tests at a bound are exact under that model: P(X ≥ observed | λ at the bound).
    """

    statistic: np.ndarray
    df1: np.ndarray
    df2: np.ndarray
    n: np.ndarray
    m: np.ndarray

    method: ClassVar[str] = "noncentral_inversion"
    test: ClassVar[str] = "noncentral_chi2_or_f_vs_bound"
    floor: ClassVar[float | None] = 0.0

    def _sf(self, lam: np.ndarray, statistic: np.ndarray) -> np.ndarray:
        """P(X >= statistic | λ). An F with more than 1000 denominator degrees of freedom is taken as its
        chi-square limit (df1 F), where scipy's noncentral F series converges slowly or not at all."""
        lam = np.maximum(np.broadcast_to(lam, self.df1.shape), 1e-12)
        exact_f = np.isfinite(self.df2) & (self.df2 <= 1000)
        as_chi = np.where(np.isfinite(self.df2), statistic * self.df1, statistic)
        out = np.empty(self.df1.shape)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            chi = ~exact_f
            if chi.any():
                out[chi] = sps.ncx2.sf(as_chi[chi], self.df1[chi], lam[chi])
            if exact_f.any():
                out[exact_f] = sps.ncf.sf(statistic[exact_f], self.df1[exact_f], self.df2[exact_f], lam[exact_f])
        return np.asarray(out, float)

    def _effect(self, lam: np.ndarray, n: np.ndarray) -> np.ndarray:
        lam = np.maximum(lam, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            effect = np.where(np.isfinite(self.df2), np.sqrt(lam / (lam + n)),
                              np.minimum(np.sqrt(lam / (n * self.m)), 1.0))
        return np.asarray(effect, float)

    def _lambda(self, bound: np.ndarray, n: np.ndarray) -> np.ndarray:
        b = np.clip(bound, 0.0, 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            lam = np.where(np.isfinite(self.df2), n * b**2 / (1 - b**2), b**2 * n * self.m)
        return np.asarray(lam, float)

    def limits(self, z: np.ndarray, k: np.ndarray | float = 1.0) -> Pair:
        z = np.broadcast_to(np.asarray(z, float), self.statistic.shape)
        n = self.n * k
        # data k times as large at the same effect: the statistic's excess over its null mean grows k-fold
        null_mean = np.where(np.isfinite(self.df2), 1.0, self.df1)
        statistic = null_mean + (self.statistic - null_mean) * k
        tail = _norm_sf(z)
        top = np.maximum(statistic * self.df1, 1.0) * 4 + 100.0 * (1 + z**2)

        def solve(target: np.ndarray) -> np.ndarray:
            # sf rises with λ: find λ where P(X ≥ statistic | λ) = target; 0 when even λ = 0 exceeds it
            lam = crossing(lambda x: self._sf(x, statistic) - target, np.zeros_like(top), top, tolerance=1e-9)
            return np.where(self._sf(np.zeros_like(top), statistic) >= target, 0.0, lam)

        return self._effect(solve(tail), n), self._effect(solve(1 - tail), n)

    def tails(self, bound: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lam = self._lambda(np.asarray(bound, float), self.n)
        up = self._sf(lam, self.statistic)  # P(X >= observed | effect at the bound): small when above it
        return up, 1.0 - up
