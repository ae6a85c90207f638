"""Diagnostics: how long each section takes on 1M rows x 20 features, and how often the subgroup scan raises a
false alarm on fair data (and finds a planted gap), with Monte Carlo errors.

Part 1 builds 1M synthetic people (2 protected attributes, 20 features: 10 categorical with up to 40 values,
10 numeric, 5% missing in three of them, one conditioning column) and times every section through the
engine, next to the audit itself and to AIF360 computing only the label base rates per group on the rows.
Target from the issue: every diagnostic within 10 s on 2 cores (the proxy classifier on its documented
subsample, printed).

Part 2 runs the scan over --runs seeded fair datasets (race and sex fair, features unrelated) and counts runs
with any significant subgroup (goal: at most 5%), then over planted data (one intersection of race with a
non-protected feature) and counts how often that subgroup is the top one.

Run: python benchmarks/bench_diagnostics.py [--rows 1000000] [--runs 400]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

logging.disable(logging.CRITICAL)
warnings.filterwarnings("ignore")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aif360.datasets import BinaryLabelDataset  # noqa: E402
from aif360.metrics import BinaryLabelDatasetMetric  # noqa: E402
from tests.diagnostics.simulated import intersectional  # noqa: E402

from fairprobe.domain import AuditRequest, ColumnRoles, DataKind, Policy, ProtectedAttribute  # noqa: E402
from fairprobe.domain.audit import LABEL, PREDICTION, WEIGHT  # noqa: E402
from fairprobe.domain.diagnostics import ConditioningColumn, DiagnosticsRequest, SectionName  # noqa: E402
from fairprobe.engines.audit import DatasetAudit  # noqa: E402
from fairprobe.engines.policy import DEFAULT_RULES  # noqa: E402

RACES = ["White", "Black", "Hispanic", "Asian", "Other"]


def people(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Role columns and 20 features (plus a risk band to condition on) for ``n`` synthetic people."""
    rng = np.random.default_rng(seed)
    race = rng.choice(5, n, p=[0.6, 0.15, 0.15, 0.06, 0.04])
    sex = rng.integers(0, 2, n)
    y = rng.random(n) < 0.3 + 0.05 * sex
    pred = rng.random(n) < 0.25 + 0.04 * race + 0.3 * y
    roles = pd.DataFrame({"race": pd.Categorical.from_codes(race.tolist(), pd.Index(RACES)),
                          "sex": pd.Categorical.from_codes(sex.tolist(), pd.Index(["F", "M"])),
                          LABEL: y, PREDICTION: pred, WEIGHT: np.ones(n)})
    extra: dict[str, object] = {}
    for j in range(10):
        levels = 3 + 4 * j
        codes = rng.integers(0, levels, n)
        if j == 0:
            codes = (codes + race * 2) % levels  # one feature leans on race
        extra[f"cat_{j}"] = pd.Categorical.from_codes(codes.tolist(), pd.Index([f"v{k}" for k in range(levels)]))
    for j in range(10):
        values = rng.normal(size=n) + (0.3 * sex if j == 0 else 0.0)
        if j < 3:
            values[rng.random(n) < 0.05] = np.nan
        extra[f"num_{j}"] = values
    extra["risk_band"] = rng.integers(0, 4, n)
    return roles, pd.DataFrame(extra)


def request_of(roles: pd.DataFrame, extra: pd.DataFrame, sections: tuple[SectionName, ...] | None) -> AuditRequest:
    return AuditRequest(
        frame=roles, kind=DataKind.ROWS, roles=ColumnRoles("y", "pred", None, None, None, None, 1, 1),
        protected=(ProtectedAttribute("race", "named", "White"), ProtectedAttribute("sex", "named", "M")),
        intersections=(("race", "sex"),), policy=Policy(DEFAULT_RULES, 0.05, 30, "default"), seed=0,
        extra=extra, feature_names=tuple(c for c in extra.columns if c != "risk_band"),
        diagnostics=DiagnosticsRequest(sections=sections, conditioning=(ConditioningColumn("risk_band"),)),
    )


def timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


def aif360_base_rates(roles: pd.DataFrame) -> None:
    data = pd.DataFrame({"race": roles.race.cat.codes.astype(float), "sex": roles.sex.cat.codes.astype(float),
                         "y": roles[LABEL].astype(float)})
    dataset = BinaryLabelDataset(df=data, label_names=["y"], protected_attribute_names=["race", "sex"],
                                 favorable_label=1.0, unfavorable_label=0.0)
    for attribute, levels in (("race", 5), ("sex", 2)):
        for code in range(levels):
            BinaryLabelDatasetMetric(dataset, unprivileged_groups=[{attribute: float(code)}],
                                     privileged_groups=[{attribute: -1.0}]).base_rate(privileged=False)


def speed(rows: int) -> None:
    roles, extra = people(rows)
    print(f"# {rows:,} rows x {len(extra.columns) - 1} features (+ risk_band), 2 cores")
    engine = DatasetAudit(request_id="bench")
    base = timed(lambda: engine.run(request_of(roles, extra, ())))
    print(f"audit without diagnostics     {base:7.2f} s")
    total = 0.0
    for name in SectionName:
        seconds = timed(lambda name=name: engine.run(request_of(roles, extra, (name,)))) - base
        total += seconds
        extra_note = " (classifier on a 20,000-row subsample per attribute)" if name is SectionName.PROXIES else ""
        print(f"  {name.value:<26} {seconds:7.2f} s{extra_note}")
    every = timed(lambda: engine.run(request_of(roles, extra, None)))
    print(f"every section in one audit    {every:7.2f} s  (diagnostics {every - base:.2f} s; target <= 10 s)")
    aif = timed(lambda: aif360_base_rates(roles))
    composition = timed(lambda: engine.run(request_of(roles, extra, (SectionName.COMPOSITION,)))) - base
    print(f"AIF360 base rates on rows     {aif:7.2f} s  vs composition section {composition:.3f} s: "
          f"{aif / max(composition, 1e-9):.0f}x")


def false_alarms(runs: int) -> None:
    from flask import Flask

    from fairprobe import Settings, create_app

    app: Flask = create_app(Settings())
    client = app.test_client()

    def scan(frame: pd.DataFrame) -> dict[str, Any]:
        body = {"data": {"columns": {c: frame[c].tolist() for c in frame.columns}}, "label": "repaid",
                "prediction": "approved", "protected": [{"attribute": "race"}, {"attribute": "sex"}],
                "features": ["region", "channel", "age"], "diagnostics": ["subgroups"], "seed": 0}
        report = client.post("/v1/audits", json=body).get_json()
        return next(s for s in report["diagnostics"] if s["name"] == "subgroups")

    alarms, tested = 0, []
    for seed in range(runs):
        result = scan(intersectional(3000, seed=10_000 + seed, gap=0.0))
        alarms += result["tables"]["scan"][0]["significant"] > 0
        tested.append(result["tables"]["scan"][0]["tested"])
    rate = alarms / runs
    print(f"# subgroup scan on {runs} fair datasets (3,000 people, depth 2, ~{int(np.mean(tested))} subgroups "
          "tested each)")
    print(f"false-alarm rate {rate:.3%} ± {np.sqrt(rate * (1 - rate) / runs):.3%} (Monte Carlo s.e.; goal <= 5%)")
    found = 0
    planted_runs = max(runs // 4, 20)
    for seed in range(planted_runs):
        result = scan(intersectional(3000, seed=20_000 + seed, gap=0.15))
        top = result["tables"]["subgroups"][0]
        found += top["significant"] and top["subgroup"] == {"race": "B", "region": "north"}
    power = found / planted_runs
    print(f"planted gap (race=B & region=north, 0.35 vs 0.5 overall) found first in {power:.1%} "
          f"± {np.sqrt(power * (1 - power) / planted_runs):.1%} of {planted_runs} runs")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=400)
    args = parser.parse_args()
    speed(args.rows)
    false_alarms(args.runs)


if __name__ == "__main__":
    main()
