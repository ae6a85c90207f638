"""Segments, outcomes and rankings: speed against pandas doing the same counts, and the decision rule on
simulated segmenters and recommenders whose truth is known (rates with Monte Carlo errors).

Part 1 (speed, 2 cores): a 1M-row segment audit (2 protected attributes, 12 segments, 2 valuable, plus a
continuous outcome) through the schema and the engine, against a pandas groupby computing the same group x
segment counts and outcome sums; a 100k-customer x 10-item recommendation audit, against a pandas groupby
computing the per-customer diversity and exposure. Target from the issue: each audit within 2 s.

Part 2 (known truth): a segmenter placing group B in premium 5 points less often (0.30 vs 0.25, 2,000 per
group) under |SPD| <= 0.01 on placement: share of fail verdicts (goal >= 80%); the fair segmenter under the
same policy (goal: fails <= 5%); a recommender narrowing group B's categories and high-margin items, and
its fair twin, under the default ranking policy.

Run: python benchmarks/bench_outputs.py [--rows 1000000] [--customers 100000] [--runs 200]
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

logging.disable(logging.CRITICAL)
warnings.filterwarnings("ignore")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tests.outputs.simulated import ranking_body, recommender, segment_body, segmenter  # noqa: E402

from bench_audit import best_of  # noqa: E402
from fairprobe import Settings, create_app  # noqa: E402
from fairprobe.engines.audit import DatasetAudit  # noqa: E402
from fairprobe.schemas.audit import AuditRequestSchema  # noqa: E402


def segment_speed(rows: int) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"region": rng.choice([f"r{i}" for i in range(5)], rows),
                          "age_band": rng.choice(["18-29", "30-44", "45-59", "60+"], rows),
                          "segment": rng.choice([f"s{i:02d}" for i in range(12)], rows),
                          "offer": rng.gamma(2.0, 20.0, rows)})
    body = {"data": {"columns": {c: frame[c].tolist() for c in frame.columns}},
            "protected": [{"attribute": "region"}, {"attribute": "age_band"}],
            "segment": {"column": "segment", "valuable": ["s00", "s01"]}, "outcome": {"column": "offer"},
            "diagnostics": []}
    app = create_app(Settings())

    def schema_and_engine() -> None:
        with app.app_context():
            request = AuditRequestSchema().load(body)
            DatasetAudit(request_id="bench").run(request)

    with app.app_context():
        loaded = AuditRequestSchema().load(body)
    engine = best_of(3, lambda: DatasetAudit(request_id="bench").run(loaded))

    def pandas_counts() -> None:
        for keys in (["region"], ["age_band"], ["region", "age_band"]):
            frame.groupby([*keys, "segment"], observed=True).size()
            frame.groupby(keys, observed=True)["offer"].agg(["count", "sum", "var"])

    ours, floor = best_of(3, schema_and_engine), best_of(3, pandas_counts)
    print(f"segment + outcome audit, {rows:,} rows: fairprobe {ours:.2f} s from parsed JSON columns (target <= 2 s), "
          f"of which the engine {engine:.2f} s; pandas groupby of the same counts and sums {floor:.2f} s; "
          f"engine / pandas {engine / floor:.1f}x")


def ranking_speed(customers: int) -> None:
    rng = np.random.default_rng(1)
    k = 10
    items = pd.DataFrame({"item": np.arange(5000), "category": rng.integers(0, 30, 5000),
                          "margin": np.where(rng.random(5000) < 0.2, "high", "low"),
                          "provider": rng.choice(["p1", "p2", "p3", "p4", "p5"], 5000)})
    chosen = rng.integers(0, 5000, customers * k)
    frame = pd.DataFrame({"customer": np.repeat(np.arange(customers), k), "position": np.tile(np.arange(1, k + 1),
                                                                                              customers),
                          "group": np.repeat(rng.choice(["A", "B", "C"], customers), k), "item": chosen})
    frame = frame.join(items.set_index("item"), on="item")
    body = ranking_body(frame)
    body["data"] = {"columns": {c: frame[c].tolist() for c in frame.columns}}
    app = create_app(Settings())

    def schema_and_engine() -> None:
        with app.app_context():
            DatasetAudit(request_id="bench").run(AuditRequestSchema().load(body))

    with app.app_context():
        loaded = AuditRequestSchema().load(body)
    engine = best_of(2, lambda: DatasetAudit(request_id="bench").run(loaded))

    def pandas_per_customer() -> None:
        d = 1 / np.log2(1 + frame["position"])
        per = frame.assign(d=d, hv=(frame["margin"] == "high") * d).groupby("customer").agg(
            group=("group", "first"), distinct=("category", "nunique"), hv=("hv", "sum"), d=("d", "sum"))
        per.assign(exposure=per["hv"] / per["d"]).groupby("group")[["distinct", "exposure"]].agg(["mean", "var"])

    ours, floor = best_of(2, schema_and_engine), best_of(2, pandas_per_customer)
    print(f"ranking audit, {customers:,} customers x {k} items: fairprobe {ours:.2f} s from parsed JSON columns "
          f"(target <= 2 s), of which the engine {engine:.2f} s; pandas groupby of per-customer diversity and "
          f"exposure {floor:.2f} s; engine / pandas {engine / floor:.1f}x")


def rate(hits: int, runs: int) -> str:
    p = hits / runs
    return f"{p:6.1%} ± {np.sqrt(p * (1 - p) / runs):.1%}"


def known_truth(runs: int) -> None:
    client = create_app(Settings()).test_client()
    strict = {"rules": [{"metric": "statistical_parity_difference", "max_abs": 0.01}]}

    def verdict(body: dict[str, Any]) -> str:
        answer = client.post("/v1/audits", json=body).get_json()
        return str(answer["verdict"])

    caught = sum(verdict(segment_body(segmenter(2000, 0.05, s), strict)) == "fail" for s in range(runs))
    fair = sum(verdict(segment_body(segmenter(2000, 0.0, 10_000 + s), strict)) == "fail" for s in range(runs))
    print("| scenario | verdict counted | rate (Monte Carlo s.e.) | target | runs |")
    print("|---|---|---|---|---|")
    print(f"| segmenter, premium 0.30 vs 0.25, 2,000/group, abs(SPD) ≤ 0.01 | fail | {rate(caught, runs)} | ≥ 80% "
          f"| {runs} |")
    print(f"| fair segmenter, 2,000/group, abs(SPD) ≤ 0.01 | fail | {rate(fair, runs)} | ≤ 5% | {runs} |")
    small = max(runs // 5, 20)
    narrowed = sum(verdict(ranking_body(recommender(1000, s, biased=True))) == "fail" for s in range(small))
    fair_lists = sum(verdict(ranking_body(recommender(1000, 500 + s, biased=False))) == "fail"
                     for s in range(small))
    print(f"| recommender narrowing group B, 1,000 customers, default policy | fail | {rate(narrowed, small)} | ≥ 80% "
          f"| {small} |")
    print(f"| fair recommender, 1,000 customers, default policy | fail | {rate(fair_lists, small)} | ≤ 5% | {small} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    segment_speed(args.rows)
    ranking_speed(args.customers)
    known_truth(args.runs)


if __name__ == "__main__":
    main()
