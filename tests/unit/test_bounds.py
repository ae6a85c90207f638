"""The interval families and the tests against a bound, checked against independent computations and by
simulation with known truth (the size of each test at the bound)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from fairprobe.stats.bounds import (
    AverageOdds,
    PairedMean,
    Proportion,
    RateDifference,
    RateRatio,
    WelchMean,
    p_greater,
    p_less,
    scale_to_reach,
    z_for,
)
from fairprobe.stats.intervals import mover_ratio, newcombe, wilson

Z95 = z_for(0.025)
COUNTS = [(0, 20, 7, 25), (3, 20, 10, 25), (20, 20, 12, 25), (45, 120, 300, 700), (1, 7, 6, 9)]


def arrays(rows: Sequence[Sequence[float]]) -> list[np.ndarray]:
    return [np.array(col, float) for col in zip(*rows, strict=True)]


def test_wilson_and_newcombe_equal_statsmodels() -> None:
    c1, n1, c2, n2 = arrays(COUNTS)
    low, high = wilson(c1, n1, Z95)
    ref_low, ref_high = proportion_confint(c1, n1, alpha=0.05, method="wilson")
    np.testing.assert_allclose(low, ref_low, atol=1e-12)
    np.testing.assert_allclose(high, ref_high, atol=1e-12)
    low, high = newcombe(c1, n1, c2, n2, Z95)
    ref_low, ref_high = confint_proportions_2indep(c1, n1, c2, n2, method="newcomb", compare="diff", alpha=0.05)
    np.testing.assert_allclose(low, ref_low, atol=1e-12)
    np.testing.assert_allclose(high, ref_high, atol=1e-12)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the interval functions leave 0/0 to their callers
def test_mover_r_solves_donner_and_zous_quadratic() -> None:
    """Each MOVER-R limit is the root of (p1 - θ p2)² = (p1 - l1)² + θ² (u2 - p2)² (or its mirror) that
    lies on its side of the estimate, found here with numpy's polynomial solver."""
    for c1, n1, c2, n2 in COUNTS:
        if c2 == 0:
            continue
        p1, p2 = c1 / n1, c2 / n2
        one = [np.asarray(v, float) for v in (c1, n1, c2, n2)]
        (l1, u1), (l2, u2) = ((float(x) for x in wilson(c, n, Z95)) for c, n in ((one[0], one[1]), (one[2], one[3])))
        low, high = (float(x) for x in mover_ratio(one[0], one[1], one[2], one[3], Z95))
        ratio = p1 / p2
        # lower: θ² (p2² - (u2 - p2)²) - 2 θ p1 p2 + (p1² - (p1 - l1)²) = 0
        roots = np.roots([p2**2 - (u2 - p2) ** 2, -2 * p1 * p2, p1**2 - (p1 - l1) ** 2]).real
        expected_low = max([r for r in roots if -1e-9 <= r <= ratio + 1e-9], default=0.0)
        assert low == pytest.approx(expected_low, abs=1e-9)
        roots = np.roots([p2**2 - (p2 - l2) ** 2, -2 * p1 * p2, p1**2 - (u1 - p1) ** 2]).real
        expected_high = min(r for r in roots if r >= ratio - 1e-9)
        assert high == pytest.approx(expected_high, rel=1e-9)


def test_clopper_pearson_and_exact_binomial_equal_statsmodels_and_scipy() -> None:
    c, n = np.array([0.0, 2, 13, 40]), np.array([40.0, 300, 50, 40])
    measure = Proportion(c, n)
    low, high = measure.limits(np.full(4, Z95))
    ref_low, ref_high = proportion_confint(c, n, alpha=0.05, method="beta")
    np.testing.assert_allclose(low, ref_low, atol=1e-10)
    np.testing.assert_allclose(high, ref_high, atol=1e-10)
    bound = np.full(4, 0.2)
    for i in range(4):
        greater = sps.binomtest(int(c[i]), int(n[i]), 0.2, alternative="greater").pvalue
        less = sps.binomtest(int(c[i]), int(n[i]), 0.2, alternative="less").pvalue
        assert p_greater(measure, bound)[i] == pytest.approx(greater, rel=1e-9)
        assert p_less(measure, bound)[i] == pytest.approx(less, rel=1e-9)


def test_t_measures_equal_scipy() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(0.03, 0.1, 40), rng.normal(0.0, 0.2, 55)
    paired = PairedMean(*(np.array([x]) for x in (a.mean(), a.var(ddof=1), a.size, 0.0, 0.0)))
    result = sps.ttest_1samp(a, 0.02, alternative="greater")
    assert p_greater(paired, np.array([0.02]))[0] == pytest.approx(result.pvalue, rel=1e-9)
    ci = sps.ttest_1samp(a, 0.0).confidence_interval(0.95)
    np.testing.assert_allclose(paired.limits(np.array([Z95])), [[ci.low], [ci.high]], rtol=1e-9)
    welch = WelchMean(*(np.array([x]) for x in (a.mean() - b.mean(), a.var(ddof=1), a.size, b.var(ddof=1), b.size)))
    result = sps.ttest_ind(a - 0.01, b, equal_var=False, alternative="less")  # H1: mean(a) - mean(b) < 0.01
    assert p_less(welch, np.array([0.01]))[0] == pytest.approx(result.pvalue, rel=1e-9)
    ci = sps.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    np.testing.assert_allclose(welch.limits(np.array([Z95])), [[ci.low], [ci.high]], rtol=1e-9)


@pytest.mark.parametrize("measure", [
    RateDifference(*arrays(COUNTS)),
    RateRatio(*arrays([row for row in COUNTS if row[0] > 0 and row[2] > 0])),  # a lower limit above 0
    AverageOdds(*arrays([(4, 4, 60, 100, 10, 50, 20, 100), (30, 40, 20, 40, 5, 60, 9, 60)])),
])
def test_the_p_value_at_an_interval_limit_is_its_tail(measure: RateDifference) -> None:
    """Test–interval duality: inverting the 90% interval's limits gives p = 0.05 exactly."""
    z = np.full(len(measure), z_for(0.05))
    low, high = measure.limits(z)
    np.testing.assert_allclose(p_greater(measure, low), 0.05, atol=1e-9)
    np.testing.assert_allclose(p_less(measure, high), 0.05, atol=1e-9)


def test_the_average_odds_interval_does_not_collapse_at_a_rate_of_one() -> None:
    """4 of 4 positives caught: a Wald variance is 0 there; MOVER over Newcombe stays wide."""
    measure = AverageOdds(*(np.array([x], float) for x in (4, 4, 600, 1000, 100, 500, 100, 500)))
    low, high = measure.limits(np.array([Z95]))
    assert high[0] - low[0] > 0.2
    assert low[0] < 0 < high[0]  # with 4 positives, parity cannot be ruled out


@pytest.mark.parametrize(("kind", "make"), [
    ("difference", lambda c1, n, c2: RateDifference(c1, n, c2, n)),
    ("ratio", lambda c1, n, c2: RateRatio(c1, n, c2, n)),
])
@pytest.mark.parametrize("n", [30, 200, 2000])
def test_each_test_has_its_size_at_the_bound(kind: str, make: object, n: int) -> None:
    """Known truth at the bound (SPD 0.1 / DI 0.8): the fail test and the equivalence test each err at most
    alpha (+ Monte Carlo error) in 20,000 draws."""
    rng = np.random.default_rng(11)
    reps, p_ref = 20_000, 0.5
    p = p_ref - 0.1 if kind == "difference" else 0.8 * p_ref
    bound = -0.1 if kind == "difference" else 0.8
    c1 = rng.binomial(n, p, reps).astype(float)
    c2 = rng.binomial(n, p_ref, reps).astype(float)
    measure = make(c1, np.full(reps, float(n)), c2)  # type: ignore[operator]
    fail = p_less(measure, np.full(reps, bound)) < 0.05  # shown below the bound
    passes = p_greater(measure, np.full(reps, bound)) < 0.05  # shown above it
    assert fail.mean() <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / reps)
    assert passes.mean() <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / reps)


def test_the_sample_size_is_where_the_interval_clears_the_bound() -> None:
    """0 flips of n shows a 1% bound is met (exact, one-sided 95%) from n = 299 on: 0.99**299 < 0.05."""
    measure = Proportion(np.array([0.0]), np.array([40.0]))
    k = scale_to_reach(measure, z_for(0.05), np.array([False]), np.array([0.01]))
    assert 298 <= k[0] * 40 <= 299.5


def test_the_parity_z_test_equals_statsmodels_score_test() -> None:
    from statsmodels.stats.proportion import test_proportions_2indep

    from fairprobe.stats.proportions import Z_TEST, compare_rates

    c1, n1, c2, n2 = arrays([(45, 120, 300, 700), (900, 2000, 800, 2000), (30, 100, 20, 100)])
    _, _, test = compare_rates(c1, n1, c2, n2, 0.05)
    expected = test_proportions_2indep(c1, n1, c2, n2, method="score", compare="diff", correction=False).pvalue
    np.testing.assert_allclose(test.p_value, expected, rtol=1e-10)
    assert list(test.test) == [Z_TEST] * 3


def test_the_vectorized_fisher_test_equals_scipy() -> None:
    from fairprobe.stats.proportions import fisher_two_sided

    rng = np.random.default_rng(7)
    n1, n2 = rng.integers(1, 40, 200), rng.integers(1, 400, 200)
    c1, c2 = rng.binomial(n1, 0.3), rng.binomial(n2, 0.1)
    ours = fisher_two_sided(c1, n1, c2, n2)
    for i in range(200):
        expected = sps.fisher_exact([[c1[i], n1[i] - c1[i]], [c2[i], n2[i] - c2[i]]]).pvalue
        assert ours[i] == pytest.approx(expected, rel=1e-9, abs=1e-15)
