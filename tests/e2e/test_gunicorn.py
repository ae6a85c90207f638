"""The service under gunicorn as shipped: it keeps answering while slow callers are in flight, streams
progress, sums metrics across workers, writes only JSON log lines, and opens no control socket."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import pytest
import requests
from demo.serving import serve

from tests.gunicorn_server import Gunicorn, SlowModel, gunicorn, slow_probe, small_audit, trickle

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def slow_model() -> Iterator[tuple[str, SlowModel]]:
    model = SlowModel(delay=1.0)
    with serve(model) as url:
        yield url, model


@pytest.fixture(scope="module")
def server() -> Iterator[Gunicorn]:
    with gunicorn(FAIRPROBE_ALLOWED_TARGETS="127.0.0.1/32", FAIRPROBE_BODY_TIMEOUT_S="6") as running:
        yield running


def timed(fn: Any) -> tuple[float, Any]:
    started = time.monotonic()
    result = fn()
    return time.monotonic() - started, result


def test_health_and_small_audits_answer_while_long_probes_and_trickling_clients_are_in_flight(
        server: Gunicorn, slow_model: tuple[str, SlowModel]) -> None:
    url, model = slow_model
    stop = threading.Event()
    trickled: list[Any] = []
    with ThreadPoolExecutor(8) as pool:
        probes = [pool.submit(requests.post, server.url + "/v1/probes/name-swap", json=slow_probe(url, 8),
                              headers={"X-Request-ID": f"long-probe-{i}"}, timeout=60) for i in range(2)]
        trickles = [pool.submit(trickle, server.url, stop, trickled) for _ in range(3)]
        time.sleep(1.5)  # everything is in flight
        health = [timed(lambda: requests.get(server.url + "/healthz", timeout=5)) for _ in range(10)]
        audits = [timed(lambda: requests.post(server.url + "/v1/audits", json=small_audit(), timeout=10))
                  for _ in range(3)]
        assert all(not p.done() for p in probes), "the probes should still be running"
        reports = [p.result() for p in probes]
        for t in trickles:
            t.result(timeout=30)
        stop.set()
    assert all(r.status_code == 200 for _, r in health) and max(t for t, _ in health) < 0.5, health
    assert all(r.status_code == 200 for _, r in audits) and max(t for t, _ in audits) < 1.5
    assert all(r.status_code == 200 and r.json()["accounting"]["answered"] == 16 for r in reports)
    # the trickling clients were cut off when their body's time ran out
    assert trickled == ["408", "408", "408"]
    # the caller's request id went to the model with every call
    assert model.request_ids.count("long-probe-0") == 16 and model.request_ids.count("long-probe-1") == 16


def test_progress_streams_as_ndjson_and_ends_with_the_report(server: Gunicorn,
                                                             slow_model: tuple[str, SlowModel]) -> None:
    url, _ = slow_model
    with requests.post(server.url + "/v1/probes/name-swap", json=slow_probe(url, 3), stream=True, timeout=60,
                       headers={"Accept": "application/x-ndjson"}) as response:
        assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/x-ndjson")
        events = [json.loads(line) for line in response.iter_lines() if line]
    progress = [e for e in events if e["event"] == "progress"]
    assert len(progress) >= 2 and events[-1]["event"] == "report"
    done = [e["probes_done"] for e in progress]
    assert done == sorted(done) and max(done) <= 6 and progress[-1]["probes_sent"] == 6
    assert events[-1]["report"]["accounting"]["answered"] == 6


def test_a_streamed_error_ends_the_stream_as_a_problem(server: Gunicorn) -> None:
    body = slow_probe("http://127.0.0.1:1", 2, deadline_s=5)  # nothing listens on port 1
    with requests.post(server.url + "/v1/probes/name-swap", json=body, stream=True, timeout=60,
                       headers={"Accept": "application/x-ndjson"}) as response:
        events = [json.loads(line) for line in response.iter_lines() if line]
    assert events[-1]["event"] == "error"
    assert events[-1]["problem"]["status"] == 502 and events[-1]["problem"]["accounting"]["answered"] == 0


def test_metrics_are_summed_across_workers_and_never_go_backwards(server: Gunicorn) -> None:
    assert len(server.worker_pids()) == 2
    seen = []
    for _ in range(30):
        requests.get(server.url + "/healthz", timeout=5)
        text = requests.get(server.url + "/metrics", timeout=5).text
        total = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                    if line.startswith('fairprobe_http_requests_total{') and 'route="/healthz"' in line)
        seen.append(total)
    assert seen == sorted(seen) and seen[-1] >= 30
    text = requests.get(server.url + "/metrics", timeout=5).text
    assert "fairprobe_verdicts_total" in text and "fairprobe_model_call_duration_seconds_bucket" in text


class _Replies:
    """Reads the HTTP responses that arrive one after another on one connection."""

    def __init__(self, sock: socket.socket) -> None:
        self._file = sock.makefile("rb")

    def makefile(self, *_: Any, **__: Any) -> Any:
        return self  # http.client closes the file it reads a response from: this one stays open

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)

    def close(self) -> None:
        pass

    def next(self) -> tuple[int, bytes]:
        response = http.client.HTTPResponse(self)  # type: ignore[arg-type]
        response.begin()
        return response.status, response.read()


@pytest.mark.parametrize("rows", [150_000, 20])
def test_a_body_received_straight_from_the_socket_leaves_the_next_request_on_the_connection(
        server: Gunicorn, rows: int) -> None:
    """A CSV sent as the body is received in one buffer past gunicorn's reader; a request pipelined right
    behind it on the same connection (read ahead by gunicorn with a small body) is still there for gunicorn,
    and answered."""
    csv = b"g,y,p\n" + b"".join(b"%s,%d,%d\n" % (b"ab"[i % 2:i % 2 + 1], i % 3 % 2, i % 5 % 2) for i in range(rows))
    fields = quote(json.dumps({"label": "y", "prediction": "p", "protected": [{"attribute": "g"}]}))
    host, port = server.url.removeprefix("http://").split(":")
    upload = (f"POST /v1/audits/upload?request={fields} HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/csv\r\n"
              f"Content-Length: {len(csv)}\r\n\r\n").encode() + csv
    health = f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        sock.sendall(upload + health)  # both at once: gunicorn may read into the next request
        replies = _Replies(sock)
        status, answer = replies.next()
        assert status == 200, answer[:300]
        report = json.loads(answer)
        assert report["audit"]["rows"] == rows
        assert sum(g["n"] for g in report["groups"]) == rows
        assert replies.next()[0] == 200
        sock.sendall(upload)  # and the connection serves a third request
        assert replies.next()[0] == 200


def test_a_multipart_upload_split_in_memory_audits_as_the_file_sent_as_the_body(server: Gunicorn) -> None:
    """The multipart body is received in one buffer and split there; the file part is that buffer, trimmed."""
    csv = b"g,y,p\n" + b"".join(b"%s,%d,%d\n" % (b"abc"[i % 3:i % 3 + 1], i % 3 % 2, i % 5 % 2) for i in range(200_000))
    fields = json.dumps({"label": "y", "prediction": "p", "protected": [{"attribute": "g"}]})
    as_form = requests.post(server.url + "/v1/audits/upload", data={"request": fields},
                            files={"data": ("d.csv", csv, "text/csv")}, timeout=60)
    as_body = requests.post(server.url + "/v1/audits/upload", data=csv, params={"request": fields},
                            headers={"Content-Type": "text/csv"}, timeout=60)
    assert as_form.status_code == as_body.status_code == 200, as_form.text[:300]
    assert as_form.json()["findings"] == as_body.json()["findings"]
    assert as_form.json()["audit"]["input_sha256"] == as_body.json()["audit"]["input_sha256"]
    assert as_form.json()["audit"]["rows"] == 200_000


def test_readiness_runs_a_real_audit(server: Gunicorn) -> None:
    response = requests.get(server.url + "/readyz", timeout=10)
    assert response.status_code == 200 and response.json() == {"status": "ready"}


def test_every_log_line_is_json_and_no_control_socket_was_opened(server: Gunicorn) -> None:
    requests.post(server.url + "/v1/audits", data=b"{not json", headers={"Content-Type": "application/json"},
                  timeout=5)
    time.sleep(0.5)
    lines = server.log_lines()
    assert lines and all(json.loads(line) for line in lines)
    loggers = {json.loads(line)["logger"] for line in lines}
    assert {"gunicorn.error", "fairprobe.access"} <= loggers
    assert not (server.home / ".gunicorn").exists()
