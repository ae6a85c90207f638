"""10,000 small audits in one process through the real app: RSS at the start and the end (target growth <= 10%).

AIF360's class-based metrics memoize every result in module-level dicts keyed by the metric object; without
fairprobe's cleanup a worker would keep every audit's datasets alive.

Run: python benchmarks/bench_memory.py [--audits 10000]
"""

from __future__ import annotations

import argparse
import gc
import os
import time

import psutil

from fairprobe import Settings, create_app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--audits", type=int, default=10_000)
    args = parser.parse_args()
    client = create_app(Settings(log_level="WARNING")).test_client()
    records = [{"g": g, "h": h, "y": int((i * 7) % 3 == 0), "p": int((i * 5) % 2 == 0)}
               for i, (g, h) in enumerate([("a", "x"), ("b", "y"), ("c", "x"), ("c", "y")] * 25)]
    body = {"data": {"records": records}, "label": "y", "prediction": "p",
            "protected": [{"attribute": "g"}, {"attribute": "h"}], "intersections": [["g", "h"]]}
    process = psutil.Process(os.getpid())
    for _ in range(50):  # warm-up: imports, first-call caches
        assert client.post("/v1/audits", json=body).status_code == 200
    gc.collect()
    start_rss = process.memory_info().rss
    start = time.perf_counter()
    for _ in range(args.audits):
        assert client.post("/v1/audits", json=body).status_code == 200
    elapsed = time.perf_counter() - start
    gc.collect()
    end_rss = process.memory_info().rss
    growth = (end_rss - start_rss) / start_rss
    print(f"audits: {args.audits:,} in {elapsed:.1f} s ({1000 * elapsed / args.audits:.1f} ms each)")
    print(f"RSS start {start_rss / 2**20:.1f} MiB, end {end_rss / 2**20:.1f} MiB, growth {100 * growth:+.2f}% "
          f"(target <= 10%)")


if __name__ == "__main__":
    main()
