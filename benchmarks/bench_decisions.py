"""The decision rule against known truth: how often a verdict is wrong, and how often it is right.

Each row draws many data sets from a known truth, audits (or probes) each through the real schema and
engine, and prints the share of verdicts of one kind with its Monte Carlo standard error, under the bound
rule (the default) and under the classical parity rule for contrast. Targets (issue 8):

  (a) a model fair by construction fails <= 5% of default audits (sex x 4 races x 3 age bands, orders 1-3)
  (b) a true violation of 1.5x the bound passes <= 5%          (c) a model exactly at the bound fails <= 5%
  (d) real gaps are found (fail) with >= 80% power             (e) a truly fair pair passes >= 80%

(d)'s disparate impact row depends on the selection rates, which the target does not state: it is printed
for reference rates 0.5, 0.7 and 0.8 with the power of the best possible one-sided test at the same alpha
(normal approximation on the log ratio) beside it, so a shortfall can be told apart from a weak rule.

Run: ``.venv/bin/python benchmarks/bench_decisions.py [--scale 1.0]`` (about 15 minutes at scale 1).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the simulation scenarios live beside the tests that use them

from scipy import stats as sps  # noqa: E402
from tests.simulation import Scenario, fair_population, flip_probe, rate, two_groups  # noqa: E402

from fairprobe.domain.findings import Status  # noqa: E402

SPD = "statistical_parity_difference"
DI = "disparate_impact"


def ideal_power_ratio(n: int, p_reference: float, ratio: float, bound: float, alpha: float = 0.05) -> float:
    """Power of the one-sided z test of log(ratio) < log(bound) at known variance: what no level-alpha test beats."""
    p = p_reference * ratio
    se = math.sqrt((1 - p) / (p * n) + (1 - p_reference) / (p_reference * n))
    return float(sps.norm.sf(sps.norm.isf(alpha) - (math.log(bound) - math.log(ratio)) / se))


def row(label: str, scenario: Scenario, parity: Scenario | None, want: Status, target: str, reps: int,
        note: str = "") -> None:
    started = time.perf_counter()
    bound = rate(scenario, want, reps, seed=1)
    old = rate(parity, want, max(reps // 4, 50), seed=2) if parity is not None else None
    seconds = time.perf_counter() - started
    print(f"| {label} | {want.value} | {bound} | {old if old else '—'} | {target} | {reps} | {note} |"
          f"  <!-- {seconds:.0f} s -->", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every replicate count")
    args = parser.parse_args()
    def r(n: int) -> int:
        return max(20, int(n * args.scale))


    print("| scenario | verdict counted | bound rule (default) | parity rule | target | replicates | note |")
    print("|---|---|---|---|---|---|---|")
    for n in (5_000, 100_000):
        row(f"(a) fair model, 24 cells, default policy, orders 1-3, n = {n:,}", fair_population(n), None,
            Status.FAIL, "≤ 5%", r(400))
    for n in (30, 50, 100, 300):
        row(f"(b) SPD 0.15 vs abs(SPD) ≤ 0.1, {n}/group",
            two_groups(n, 0.5, 0.35, {"metric": SPD, "max_abs": 0.1}),
            two_groups(n, 0.5, 0.35, {"metric": SPD, "max_abs": 0.1}, decision_rule="parity"),
            Status.PASS, "≤ 5%", r(1000))
    for n in (40, 100, 300):
        row(f"(b) DI 0.70 vs DI ≥ 0.8, {n}/group (rates 0.35 / 0.5)",
            two_groups(n, 0.5, 0.35, {"metric": DI, "min": 0.8}),
            two_groups(n, 0.5, 0.35, {"metric": DI, "min": 0.8}, decision_rule="parity"),
            Status.PASS, "≤ 5%", r(1000))
    for n in (40, 100, 300):
        row(f"(b) name-swap flip rate 0.015 vs ≤ 0.01, {n} profiles", flip_probe(n, 0.015), None,
            Status.PASS, "≤ 5%", r(1000))
    for n in (2_000, 20_000):
        row(f"(c) SPD exactly 0.10 vs abs(SPD) ≤ 0.1, {n:,}/group",
            two_groups(n, 0.5, 0.4, {"metric": SPD, "max_abs": 0.1}),
            two_groups(n, 0.5, 0.4, {"metric": SPD, "max_abs": 0.1}, decision_rule="parity"),
            Status.FAIL, "≤ 5%", r(1000))
        row(f"(c) DI exactly 0.8 vs DI ≥ 0.8, {n:,}/group (rates 0.4 / 0.5)",
            two_groups(n, 0.5, 0.4, {"metric": DI, "min": 0.8}),
            two_groups(n, 0.5, 0.4, {"metric": DI, "min": 0.8}, decision_rule="parity"),
            Status.FAIL, "≤ 5%", r(1000))
        row(f"(c) name-swap flip rate exactly 0.01 vs ≤ 0.01, {n:,} profiles", flip_probe(n, 0.01), None,
            Status.FAIL, "≤ 5%", r(300 if n > 5_000 else 1000))
    row("(d) SPD 0.05 vs abs(SPD) ≤ 0.02, 5,000/group", two_groups(5_000, 0.5, 0.45, {"metric": SPD, "max_abs": 0.02}),
        None, Status.FAIL, "≥ 80%", r(1000))
    for p_ref in (0.5, 0.7, 0.8):
        ideal = ideal_power_ratio(500, p_ref, 0.7, 0.8)
        row(f"(d) DI 0.70 vs DI ≥ 0.8, 500/group, reference rate {p_ref}",
            two_groups(500, p_ref, 0.7 * p_ref, {"metric": DI, "min": 0.8}), None, Status.FAIL, "≥ 80%", r(1000),
            f"best possible one-sided test: {ideal * 100:.0f}%")
    row("(d) name-swap flip rate 0.03 vs ≤ 0.01, 1,000 profiles", flip_probe(1_000, 0.03), None, Status.FAIL,
        "≥ 80%", r(1000))
    row("(e) fair pair (rates 0.5 / 0.5) vs abs(SPD) ≤ 0.1, 1,000/group",
        two_groups(1_000, 0.5, 0.5, {"metric": SPD, "max_abs": 0.1}),
        two_groups(1_000, 0.5, 0.5, {"metric": SPD, "max_abs": 0.1}, decision_rule="parity"),
        Status.PASS, "≥ 80%", r(1000))
    for n, q in ((400, 0.0), (2_000, 0.002)):
        row(f"(e) name-swap flip rate {q} vs ≤ 0.01, {n:,} profiles", flip_probe(n, q), None, Status.PASS, "≥ 80%",
            r(1000))


if __name__ == "__main__":
    main()
