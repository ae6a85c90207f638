"""A misbehaving endpoint: every probe is accounted for, each failure has its reason, the deadline holds."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pytest

from fairprobe.domain.endpoint import EndpointSpec, Format, FormatOptions, Output, Scored
from fairprobe.endpoints import EndpointClient, TargetGuard
from fairprobe.endpoints.client import GIVE_UP_AFTER
from tests.model_servers import FaultApp
from tests.probes.conftest import LOOPBACK

ROWS = [{"x": i} for i in range(12)]


def run(url: str, **overrides: Any) -> tuple[Scored, float]:
    options = {"batch_size": 4, "concurrency": 2, "timeout_s": 1.0, "deadline_s": 10.0, "retries": 2, **overrides}
    spec = EndpointSpec(url=url, format=Format.JSON, options=FormatOptions(response_path="predictions[*].score"),
                        output=Output.SCORE, threshold=0.5, positive_label=1, **options)
    client = EndpointClient(spec, TargetGuard(LOOPBACK).check(url), max_response_bytes=1 << 20)
    started = time.monotonic()
    scored = client.score(ROWS)
    return scored, time.monotonic() - started


def accounted(scored: Scored) -> None:
    a = scored.accounting
    assert a.sent == len(ROWS) == len(scored.failures) == len(scored.scores)
    assert a.sent == a.answered + a.failed
    assert a.answered == sum(f is None for f in scored.failures) == sum(s is not None for s in scored.scores)
    assert sum(a.failures.values()) == a.failed
    assert a.partial == (a.failed > 0)


@pytest.mark.parametrize(("path", "reason"), [
    ("/error500", "http_error"),
    ("/garbage", "invalid_response"),
    ("/short", "wrong_length"),
    ("/redirect?to=/ok", "redirect_refused"),
])
def test_every_probe_fails_with_its_reason(fault_server: str, path: str, reason: str) -> None:
    scored, _ = run(fault_server + path)
    accounted(scored)
    assert scored.accounting.failures == {reason: len(ROWS)}
    assert all(s is None for s in scored.scores)


def test_a_client_error_that_repeats_stops_the_sending(fault_server: str, fault_app: FaultApp) -> None:
    """401 on every call: after GIVE_UP_AFTER calls in a row the rest are not sent, and say so."""
    scored, _ = run(fault_server + "/unauthorized", batch_size=1, concurrency=1)
    accounted(scored)
    a = scored.accounting
    assert a.failures == {"http_error": GIVE_UP_AFTER, "abandoned": len(ROWS) - GIVE_UP_AFTER}
    assert fault_app.calls["/unauthorized"] == a.requests == GIVE_UP_AFTER
    assert a.gave_up is not None and "401" in a.gave_up


def test_an_error_everywhere_costs_a_bounded_number_of_calls(fault_server: str, fault_app: FaultApp) -> None:
    """The issue's cases: 500 to everything (80 records) and 400 to everything (2,000 probes). Retries draw on
    one budget and halving stops once it is seen not to help, so neither multiplies into hundreds of calls."""
    url = fault_server + "/error500"
    spec = EndpointSpec(url=url, format=Format.JSON, options=FormatOptions(response_path="predictions[*].score"),
                        output=Output.SCORE, threshold=0.5, positive_label=1, batch_size=100, concurrency=4,
                        retries=2, deadline_s=30)
    client = EndpointClient(spec, TargetGuard(LOOPBACK).check(url), max_response_bytes=1 << 20, sleep=lambda _: None)
    scored = client.score([{"x": i} for i in range(80)])
    assert scored.accounting.failed == 80 and scored.accounting.requests <= 25, scored.accounting
    assert scored.accounting.requests == fault_app.calls["/error500"]

    url = fault_server + "/badrequest"
    client = EndpointClient(replace(spec, url=url), TargetGuard(LOOPBACK).check(url), max_response_bytes=1 << 20)
    scored = client.score([{"x": i} for i in range(2_000)])
    a = scored.accounting
    assert a.sent == a.failed == 2_000 and a.failures.keys() <= {"http_error", "abandoned"}
    assert a.requests <= 3 * GIVE_UP_AFTER and fault_app.calls["/badrequest"] == a.requests
    assert a.gave_up is not None and "400" in a.gave_up


def test_a_batch_that_fails_falls_back_to_single_records(fault_server: str, fault_app: FaultApp) -> None:
    scored, _ = run(fault_server + "/batchfail")
    accounted(scored)
    assert scored.accounting.answered == len(ROWS)
    # 3 batches of 4, each retried twice, then halves (retried), then single records
    assert {n for p, n in fault_app.seen_batch_sizes if p == "/batchfail"} == {4, 2, 1}


def test_5xx_is_retried_with_backoff(fault_server: str) -> None:
    scored, _ = run(fault_server + "/flaky")
    accounted(scored)
    assert scored.accounting.answered == len(ROWS)
    assert scored.accounting.retries >= 1
    assert scored.accounting.http_statuses["503"] >= 1


def test_429_waits_for_retry_after(fault_server: str) -> None:
    scored, elapsed = run(fault_server + "/ratelimit", batch_size=12, concurrency=1)
    accounted(scored)
    assert scored.accounting.answered == len(ROWS)
    assert scored.accounting.retries == 1
    assert elapsed >= 1.0  # Retry-After: 1


def test_4xx_is_not_retried(fault_server: str, fault_app: FaultApp) -> None:
    scored, _ = run(fault_server + "/unauthorized", batch_size=12)
    assert scored.accounting.retries == 0
    # one call for the batch, then the fallback halves down to single records: 1 + 2 + 4 + 8 + 12 leaves
    assert fault_app.calls["/unauthorized"] == scored.accounting.requests


def test_a_redirect_is_not_followed(fault_server: str, fault_app: FaultApp) -> None:
    scored, _ = run(fault_server + "/redirect?to=/ok")
    assert scored.accounting.failures == {"redirect_refused": len(ROWS)}
    assert fault_app.calls["/ok"] == 0


@pytest.mark.parametrize("path", ["/timeout", "/drip"])
def test_the_deadline_holds_against_a_hanging_or_dripping_endpoint(fault_server: str, path: str) -> None:
    deadline = 2.0
    scored, elapsed = run(fault_server + path, timeout_s=0.8, deadline_s=deadline, batch_size=1, concurrency=3)
    accounted(scored)
    assert scored.accounting.answered == 0
    assert set(scored.accounting.failures) <= {"timeout", "deadline_exceeded"}
    assert "deadline_exceeded" in scored.accounting.failures  # 12 probes x 0.8 s / 3 workers > 2 s
    assert elapsed < deadline + 1.0


def test_a_body_over_the_cap_is_refused(fault_server: str) -> None:
    spec = EndpointSpec(url=fault_server + "/ok", format=Format.JSON,
                        options=FormatOptions(response_path="predictions[*].score"), output=Output.SCORE,
                        threshold=0.5, positive_label=1, batch_size=12)
    client = EndpointClient(spec, TargetGuard(LOOPBACK).check(spec.url), max_response_bytes=64)
    scored = client.score(ROWS)
    accounted(scored)
    # 12 answers are ~200 bytes: too large; single answers (~30 bytes) fit after the fallback
    assert scored.accounting.answered == len(ROWS)
    assert scored.accounting.requests > 1


def test_an_unreachable_endpoint_fails_fast_as_connection_errors() -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    scored, elapsed = run(f"http://127.0.0.1:{port}/score", retries=1)
    accounted(scored)
    assert scored.accounting.failures == {"connection_error": len(ROWS)}
    assert elapsed < 5
