"""The noncentral intervals of Cramér's V and the correlation ratio cover the truth at their level, checked by
simulation with a known population effect; the tests at a bound keep their size there."""

from __future__ import annotations

import numpy as np

from fairprobe.stats.bounds import EffectSize, signed_limits, tails


def _cramers_v(p: np.ndarray) -> float:
    rows, cols = p.sum(axis=1), p.sum(axis=0)
    phi2 = (((p - np.outer(rows, cols)) ** 2) / np.outer(rows, cols)).sum()
    return float(np.sqrt(phi2 / (min(p.shape) - 1)))


def test_cramers_v_interval_covers_the_population_value() -> None:
    rng = np.random.default_rng(5)
    population = np.array([[0.20, 0.12, 0.08], [0.15, 0.20, 0.25]])
    truth = _cramers_v(population)
    n, runs, z = 600, 500, np.array([1.6448536269514722])
    stats, dfs = [], []
    for _ in range(runs):
        table = rng.multinomial(n, population.ravel()).reshape(2, 3).astype(float)
        expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
        stats.append(((table - expected) ** 2 / expected).sum())
        dfs.append(2.0)
    measure = EffectSize(np.array(stats), np.array(dfs), np.full(runs, np.inf), np.full(runs, float(n)),
                         np.ones(runs))
    low, high = signed_limits(measure, np.repeat(z, runs))
    coverage = float(((low <= truth) & (truth <= high)).mean())
    assert 0.86 <= coverage <= 0.94, coverage  # a 90% interval; Monte Carlo sd about 1.3 points
    # the test that V exceeds the truth, at alpha 0.05, rejects about 5% of the time
    up, _ = tails(measure, np.full(runs, truth))
    assert 0.025 <= float((up < 0.05).mean()) <= 0.08


def test_correlation_ratio_interval_covers_the_population_value() -> None:
    rng = np.random.default_rng(6)
    means, sd, n_per = np.array([0.0, 0.3, 0.6]), 1.0, 150
    between = ((means - means.mean()) ** 2).mean()
    truth = float(np.sqrt(between / (between + sd**2)))
    runs, n, k = 400, 3 * n_per, 3
    f_stats = []
    for _ in range(runs):
        x = rng.normal(np.repeat(means, n_per), sd)
        g = np.repeat(np.arange(k), n_per)
        grand = x.mean()
        ssb = sum(n_per * (x[g == j].mean() - grand) ** 2 for j in range(k))
        ssw = ((x - grand) ** 2).sum() - ssb
        f_stats.append((ssb / (k - 1)) / (ssw / (n - k)))
    measure = EffectSize(np.array(f_stats), np.full(runs, k - 1.0), np.full(runs, float(n - k)),
                         np.full(runs, float(n)), np.ones(runs))
    low, high = signed_limits(measure, np.full(runs, 1.6448536269514722))
    coverage = float(((low <= truth) & (truth <= high)).mean())
    assert 0.86 <= coverage <= 0.94, coverage
