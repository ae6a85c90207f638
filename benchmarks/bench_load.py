"""Load and availability under gunicorn as shipped (``gunicorn.conf.py``: 2 threaded workers on 2 cores).

(1) Load: 20 concurrent clients for 60 s, each sending 1,000-row audits (race x sex, default policy with
    pair intersections) one after another. Prints audits/s, latency percentiles, errors, and each worker's
    RSS at the start and the end. Targets: 0 errors, >= 50 audits/s, p99 <= 600 ms, RSS flat.
(2) Availability: while two probes of a slow model (1 s per call, ~200 s each) and three clients sending
    their body at 1 byte/s are in flight, ``/healthz`` is timed 100 times and a small audit 10 times.
    Targets: health <= 100 ms, small audit <= 1 s (the worst of each).
(3) Memory: every worker's RSS before and after (a) 200 requests under 100 KiB of every kind and (b) one
    1M-row audit. Targets: (a) <= +100 MiB, (b) peak <= 600 MiB.

The load generator runs in this process on the same 2 cores, so the service's numbers are a lower bound.

Run: ``.venv/bin/python benchmarks/bench_load.py [--seconds 60] [--probe-seconds 200]``
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from demo.serving import serve  # noqa: E402
from tests.gunicorn_server import Gunicorn, SlowModel, gunicorn, slow_probe, small_audit, trickle  # noqa: E402
from tests.hostile import ConstantModel, bodies  # noqa: E402


def audit_body(rows: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    race = rng.choice(["white", "black", "hispanic", "asian", "other"], rows, p=[0.6, 0.15, 0.15, 0.06, 0.04])
    sex = rng.choice(["female", "male"], rows)
    y = rng.integers(0, 2, rows)
    p = (rng.uniform(size=rows) < np.where(y == 1, 0.7, 0.3)).astype(int)
    records = [{"race": a, "sex": b, "y": int(c), "p": int(d)} for a, b, c, d in zip(race, sex, y, p, strict=True)]
    return json.dumps({"data": {"records": records}, "label": "y", "prediction": "p", "favorable": 1,
                       "protected": [{"attribute": "race"}, {"attribute": "sex"}]}).encode()


#: each audit on a new connection, as clients behind a load balancer arrive: a kept-alive connection would
#: stay with the worker that accepted it, and 20 of them split unevenly between 2 workers
CONNECTION = {"Connection": "close"}


def rss(server: Gunicorn) -> list[float]:
    return [psutil.Process(pid).memory_info().rss / 2**20 for pid in server.worker_pids()]


def load(server: Gunicorn, seconds: float, clients: int) -> None:
    body = audit_body(1000)
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client() -> None:
        nonlocal errors
        session = requests.Session()
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                response = session.post(server.url + "/v1/audits", data=body, timeout=30,
                                         headers={"Content-Type": "application/json", **CONNECTION})
                ok = response.status_code == 200
            except requests.RequestException:
                ok = False
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                errors += not ok

    before = rss(server)
    workers = [psutil.Process(pid) for pid in server.worker_pids()]
    cpu_before = [sum(w.cpu_times()[:2]) for w in workers]
    me = psutil.Process()
    my_cpu = sum(me.cpu_times()[:2])
    started = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        for _ in range(clients):
            pool.submit(client)
    wall = time.monotonic() - started
    after = rss(server)
    server_cpu = sum(sum(w.cpu_times()[:2]) for w in workers) - sum(cpu_before)
    client_cpu = sum(me.cpu_times()[:2]) - my_cpu
    cuts = np.percentile(latencies, [50, 90, 99]) * 1000
    print(f"(1) load: {clients} clients, {wall:.0f} s, {len(latencies)} audits of {len(body) / 1024:.0f} KiB: "
          f"{len(latencies) / wall:.1f} audits/s (target >= 50), errors {errors} (target 0), "
          f"p50 {cuts[0]:.0f} ms, p90 {cuts[1]:.0f} ms, p99 {cuts[2]:.0f} ms (target <= 600), "
          f"worker RSS {', '.join(f'{b:.0f}->{a:.0f}' for b, a in zip(before, after, strict=True))} MiB; "
          f"CPU per audit: service {server_cpu / len(latencies) * 1000:.1f} ms, this load generator "
          f"{client_cpu / len(latencies) * 1000:.1f} ms", flush=True)


def availability(server: Gunicorn, probe_seconds: float) -> None:
    model = SlowModel(delay=1.0)
    with serve(model) as url:
        stop = threading.Event()
        trickled: list[Any] = []
        calls = int(probe_seconds)  # one record per call, 1 s each
        probe = slow_probe(url, profiles=calls // 2, deadline_s=min(240, probe_seconds + 30))
        with ThreadPoolExecutor(8) as pool:
            probes = [pool.submit(requests.post, server.url + "/v1/probes/name-swap", json=probe, timeout=400)
                      for _ in range(2)]
            for _ in range(3):
                pool.submit(trickle, server.url, stop, trickled, 10**6)
            time.sleep(3)
            health = []
            for _ in range(100):
                started = time.perf_counter()
                assert requests.get(server.url + "/healthz", timeout=5).status_code == 200
                health.append(time.perf_counter() - started)
                time.sleep(0.05)
            audits = []
            for _ in range(10):
                started = time.perf_counter()
                assert requests.post(server.url + "/v1/audits", json=small_audit(), timeout=10).status_code == 200
                audits.append(time.perf_counter() - started)
            running = sum(not p.done() for p in probes)
            results = [p.result() for p in probes]
            stop.set()
    print(f"(2) availability with {running} long probes and 3 trickling clients in flight: /healthz worst "
          f"{max(health) * 1000:.0f} ms, median {statistics.median(health) * 1000:.1f} ms (target <= 100); small "
          f"audit worst {max(audits) * 1000:.0f} ms (target <= 1000); trickling clients got {trickled}; probes "
          f"answered {[r.json()['accounting']['answered'] for r in results]} in "
          f"{[round(r.elapsed.total_seconds()) for r in results]} s", flush=True)


def memory(server: Gunicorn) -> None:
    before = rss(server)
    with serve(ConstantModel()) as url:
        requests_ = [(path, json.dumps(body).encode()) for path, body in bodies(url).values()]
        sizes = [len(b) for _, b in requests_]
        session = requests.Session()
        for i in range(200):
            path, raw = requests_[i % len(requests_)]
            session.post(server.url + path, data=raw, headers={"Content-Type": "application/json"}, timeout=60)
    after = rss(server)
    print(f"(3a) 200 requests of every kind, {min(sizes) / 1024:.0f}-{max(sizes) / 1024:.0f} KiB: worker RSS "
          f"{', '.join(f'{b:.0f}->{a:.0f}' for b, a in zip(before, after, strict=True))} MiB "
          f"(target: +100 MiB at most)", flush=True)
    csv_text, csv_request = csv_body(1_000_000)  # made before the clock starts, as the JSON bodies are
    for label, body, content_type in (
            ("JSON records", audit_body(1_000_000, seed=1), "application/json"),
            ("JSON records with a score", scored_body(1_000_000), "application/json"),
            ("JSON columns", columns_body(1_000_000), "application/json"),
            ("CSV upload", None, "multipart/form-data")):
        time.sleep(2)  # a worker gives its freed heap back after a second idle (gunicorn.conf.py's IdleTrim)
        peak = [0.0]
        done = threading.Event()
        idle = max(rss(server))
        watcher = threading.Thread(target=watch_rss, args=(server, peak, done))
        watcher.start()
        started = time.perf_counter()
        if body is None:
            size = len(csv_text)
            response = requests.post(server.url + "/v1/audits/upload", files={"data": ("d.csv", csv_text)},
                                     data={"request": csv_request}, timeout=300)
        else:
            size = len(body)
            response = requests.post(server.url + "/v1/audits", data=body, timeout=300,
                                     headers={"Content-Type": content_type})
        elapsed = time.perf_counter() - started
        done.set()
        watcher.join()
        print(f"(3b) one 1M-row audit as {label} ({size / 2**20:.0f} MiB): status {response.status_code}, "
              f"{elapsed:.1f} s, peak worker RSS {peak[0]:.0f} MiB (idle {idle:.0f}; target <= 600)", flush=True)


def watch_rss(server: Gunicorn, peak: list[float], done: threading.Event) -> None:
    while not done.is_set():
        peak[0] = max(peak[0], *rss(server))
        time.sleep(0.02)


def scored_body(rows: int) -> bytes:
    """The records of ``audit_body`` with a model score as a fifth field: a float per row, never shared."""
    body = json.loads(audit_body(rows, seed=1))
    scores = np.random.default_rng(2).random(rows).round(6)
    for record, score in zip(body["data"]["records"], scores.tolist(), strict=True):
        record["score"] = score
    return json.dumps(body).encode()


def columns_body(rows: int) -> bytes:
    records = json.loads(audit_body(rows, seed=1))
    data = records.pop("data")["records"]
    columns = {key: [r[key] for r in data] for key in data[0]}
    return json.dumps({**records, "data": {"columns": columns}}).encode()


def csv_body(rows: int) -> tuple[bytes, str]:
    records = json.loads(audit_body(rows, seed=1))
    data = records.pop("data")["records"]
    lines = ["race,sex,y,p"] + [f"{r['race']},{r['sex']},{r['y']},{r['p']}" for r in data]
    return ("\n".join(lines) + "\n").encode(), json.dumps(records)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--probe-seconds", type=float, default=200)
    parser.add_argument("--only", choices=["load", "availability", "memory"])
    parser.add_argument("--env", nargs="*", default=[], help="extra NAME=value settings for the service")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    with gunicorn(FAIRPROBE_ALLOWED_TARGETS="127.0.0.1/32", **dict(a.split("=", 1) for a in args.env)) as server:
        if args.only in (None, "load"):
            load(server, args.seconds, args.clients)
        if args.only in (None, "availability"):
            availability(server, args.probe_seconds)
        if args.only in (None, "memory"):
            memory(server)


if __name__ == "__main__":
    main()
