"""Probes per second against a local model endpoint: fairprobe's client vs a bare thread-pool requests client.

Both send the same records in batches of 100 (generic JSON format) at the same concurrency to the same
loopback server, which parses each batch and answers one score per record. fairprobe does its extra
work (SSRF-pinned connection, size-capped streaming read, deadline checks, per-record accounting);
the bare client only posts and parses. Target: fairprobe >= 0.8x the bare client's probes/s.

Run: ``.venv/bin/python benchmarks/bench_probes.py``
"""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from fairprobe.domain.endpoint import EndpointSpec, Format, FormatOptions, Output
from fairprobe.endpoints import EndpointClient, TargetGuard

PROBES = 40_000
BATCH = 100
CONCURRENCY = 4
ROUNDS = 3


def model(environ: dict[str, Any], start_response: Any) -> Any:
    records = json.loads(Request(environ).get_data())["records"]
    body = json.dumps({"predictions": [{"score": (r["age"] % 10) / 10} for r in records]})
    return Response(body, mimetype="application/json")(environ, start_response)


def bare(url: str, records: list[dict[str, Any]]) -> int:
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=CONCURRENCY))

    def call(batch: list[dict[str, Any]]) -> list[float]:
        response = session.post(url, data=json.dumps({"records": batch}),
                                headers={"Content-Type": "application/json"}, timeout=10)
        response.raise_for_status()
        return [p["score"] for p in response.json()["predictions"]]

    batches = [records[i:i + BATCH] for i in range(0, len(records), BATCH)]
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        return sum(len(s) for s in pool.map(call, batches))


def fairprobe(url: str, records: list[dict[str, Any]]) -> int:
    spec = EndpointSpec(url=url, format=Format.JSON, options=FormatOptions(response_path="predictions[*].score"),
                        output=Output.SCORE, threshold=0.5, positive_label=1, batch_size=BATCH,
                        concurrency=CONCURRENCY, timeout_s=10, deadline_s=300)
    client = EndpointClient(spec, TargetGuard(["127.0.0.1/32"]).check(url), max_response_bytes=16 << 20)
    scored = client.score(records)
    assert scored.accounting.failed == 0, scored.accounting
    return scored.accounting.answered


def best(fn: Any, url: str, records: list[dict[str, Any]]) -> float:
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        assert fn(url, records) == len(records)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    records = [{"age": 20 + i % 50, "education_num": i % 16, "hours_per_week": 40, "first_name": "Lakisha",
                "sex": "Female"} for i in range(PROBES)]
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no per-request lines from the local server
    server = make_server("127.0.0.1", 0, model, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/score"
    try:
        best(bare, url, records[:2000])  # warm up both paths
        best(fairprobe, url, records[:2000])
        t_bare = best(bare, url, records)
        t_fp = best(fairprobe, url, records)
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
    print(f"{PROBES} probes, batches of {BATCH}, concurrency {CONCURRENCY}, best of {ROUNDS}")
    print(f"  bare thread-pool requests client: {t_bare:.3f} s  {PROBES / t_bare:,.0f} probes/s")
    print(f"  fairprobe EndpointClient:         {t_fp:.3f} s  {PROBES / t_fp:,.0f} probes/s")
    print(f"  ratio fairprobe / bare (probes/s): {t_bare / t_fp:.2f}x   (target >= 0.8x)")


if __name__ == "__main__":
    main()
