"""The SDK against the real app served on loopback: typed results, every error class, retries measured."""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.resources import files
from typing import Any

import numpy as np
import pandas as pd
import pytest
from demo.serving import serve
from flask import Flask
from werkzeug.wrappers import Request, Response

import fairprobe_client
from fairprobe import Settings, create_app
from fairprobe_client import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuditReport,
    AuthenticationError,
    BadRequestError,
    Client,
    Finding,
    NotFoundError,
    RateLimitError,
    ServerError,
    ServiceBusyError,
    UnprocessableEntityError,
)

RACE = {"attribute": "race", "reference": "Caucasian"}


def high_risk(compas: pd.DataFrame) -> pd.DataFrame:
    return compas.assign(high=(compas.decile_score >= 5).astype(int))


def test_audit_a_dataframe_gives_a_typed_report(live_server: str, compas: pd.DataFrame) -> None:
    with Client(live_server, timeout=30) as client:
        report = client.audit(high_risk(compas), label="two_year_recid", prediction="high", favorable=0,
                              protected=[RACE, "sex"])
    assert isinstance(report, AuditReport) and report.verdict == "fail"
    groups = {g.label: g for g in report.groups}
    fpr = groups["race=African-American"].metrics["false_positive_rate"].value
    assert fpr is not None and round(100 * fpr, 2) == 44.85  # ProPublica
    assert all(isinstance(f, Finding) for f in report.findings)
    # the helpers agree with the summary the service computed, and with a count over the raw JSON
    raw = [f["status"] for f in report.raw["findings"]]
    assert len(report.failed()) == report.summary.failed == raw.count("fail") > 0
    assert len(report.inconclusive()) == report.summary.inconclusive == raw.count("inconclusive")
    assert len(report.passed()) == report.summary.passed == raw.count("pass")
    frame = report.to_frame()
    assert len(frame) == len(report.findings) and list(frame["status"]) == raw
    assert frame.loc[frame["group"] == "race=African-American", "n"].iloc[0] == 3696
    per_group = report.to_frame("groups")
    caucasian = per_group[(per_group["group"] == "race=Caucasian") & (per_group["metric"] == "false_positive_rate")]
    assert round(100 * caucasian["value"].iloc[0], 2) == 23.45
    assert report.audit.columns["label"] == "two_year_recid" and report.audit.favorable == 0


def test_the_same_audit_as_json_rows_as_a_csv_upload_and_as_records(live_server: str, compas: pd.DataFrame,
                                                                     tmp_path: Any) -> None:
    frame = high_risk(compas)[["race", "two_year_recid", "high"]]
    path = tmp_path / "compas.csv"  # the test's own scratch file
    frame.to_csv(path, index=False)
    fields: dict[str, Any] = {"label": "two_year_recid", "prediction": "high", "favorable": 0, "protected": [RACE]}
    with Client(live_server, timeout=30) as client:
        reports = [client.audit(frame, **fields), client.audit(str(path), **fields),
                   client.audit(frame.to_dict("records"), **fields), client.upload_audit(path, **fields),
                   client.upload_audit(path.read_bytes(), **fields)]
    assert len({json.dumps(r.raw["findings"], sort_keys=True) for r in reports}) == 1
    assert len({r.audit.input_sha256 for r in reports}) == 1
    # fields too long for a URL (a policy of 60 rules): the file goes in a multipart form with them instead
    rules = [{"metric": "statistical_parity_difference", "max_abs": 0.05 + i / 1000}
             for i in range(60)]
    long_fields = {**fields, "policy": {"rules": rules}}
    assert len(json.dumps(long_fields)) > 4000
    sent: list[str] = []
    with Client(live_server, timeout=30) as client:
        client._session.hooks["response"].append(lambda r, *_, **__: sent.append(r.request.headers["Content-Type"]))
        long_reports = [client.upload_audit(path, **long_fields), client.audit(frame, **long_fields),
                        client.upload_audit(path, **fields)]
    assert sent[0].startswith("multipart/form-data") and sent[2] == "text/csv"  # short fields: the file is the body
    assert len({json.dumps(r.raw["findings"], sort_keys=True) for r in long_reports[:2]}) == 1
    default_rules = len(reports[0].raw["audit"]["policy"]["rules"])
    assert len(long_reports[0].findings) == 60 * len(reports[0].findings) // default_rules
    # and against a hand count: the share of African-American defendants labelled high-risk
    african_american = next(g for g in reports[0].groups if g.label == "race=African-American")
    expected = (frame.loc[frame.race == "African-American", "high"] == 1).mean()
    assert african_american.metrics["selection_rate"].value == pytest.approx(expected, abs=1e-12)


def test_diagnostic_sections_are_typed_and_send_their_columns(live_server: str, compas: pd.DataFrame) -> None:
    frame = high_risk(compas)
    with Client(live_server, timeout=60) as client:
        report = client.audit(frame, label="two_year_recid", prediction="high", favorable=0, protected=[RACE],
                              features=["sex", "age_cat"],
                              conditioning=[{"attribute": "priors_count", "bins": [1, 4, 10]}],
                              diagnostics=["composition", "conditional", "subgroups"])
    assert [s.name for s in report.diagnostics] == ["composition", "conditional", "subgroups"]
    strata = report.section("conditional").table("strata")
    # the conditioning column was sent although it plays no other part: its four bands are there
    assert {next(iter(s.values())) for s in strata["stratum"]} == {"< 1", "[1, 4)", "[4, 10)", ">= 10"}
    # a hand count of one stratum's favorable rate (not labelled high-risk) for African-American defendants
    band = frame[(frame.priors_count >= 1) & (frame.priors_count < 4) & (frame.race == "African-American")]
    row = strata[(strata["stratum"] == {"priors_count": "[1, 4)"})
                 & (strata["group"] == {"race": "African-American"})].iloc[0]
    assert row["n"] == len(band) and row["favorable_rate"] == pytest.approx((band.high == 0).mean(), abs=1e-12)
    assert all(isinstance(f, Finding) for f in report.section("subgroups").findings)
    with pytest.raises(KeyError, match="not asked for"):
        report.section("proxies")


def test_pandas_missing_values_become_null_and_the_problem_names_the_field(live_server: str) -> None:
    frame = pd.DataFrame({"g": pd.array(["a", pd.NA, "b"], dtype="string"), "y": [1, 0, 1], "p": [1, 1, 0],
                          "when": [pd.Timestamp("2024-01-01"), pd.NaT, pd.Timestamp("2024-01-03")],
                          "n": pd.array([1, pd.NA, 3], dtype="Int64")})
    body = Client.audit_body(Client(live_server), frame, label="y", prediction="p", protected=["g", "when"])
    assert body["data"]["columns"]["g"] == ["a", None, "b"]
    assert body["data"]["columns"]["when"] == ["2024-01-01T00:00:00", None, "2024-01-03T00:00:00"]
    with Client(live_server) as client, pytest.raises(UnprocessableEntityError) as caught:
        client.audit(frame, label="y", prediction="p", protected=["g"], weight="n")
    error = caught.value
    assert error.status == 422 and isinstance(error, BadRequestError)
    assert set(error.fields) <= {"protected[0].attribute", "weight"} and error.fields
    assert error.request_id and error.problem["request_id"] == error.request_id


def test_numpy_scalars_are_sent_as_numbers(live_server: str) -> None:
    frame = pd.DataFrame({"g": ["a", "b"] * 20, "y": np.array([0, 1] * 20, dtype=np.int8),
                          "p": np.array([1, 0, 0, 1] * 10, dtype=np.int64)})
    with Client(live_server) as client:
        report = client.audit(frame, label="y", prediction="p", positive_label=np.int64(1),
                              favorable=np.int8(1), protected=["g"])
    assert report.audit.positive_label == 1 and report.audit.favorable == 1


def test_the_catalogue_and_the_name_banks_are_typed(live_server: str) -> None:
    with Client(live_server) as client:
        catalogue = client.catalogue()
        banks = client.name_banks()
        bank = client.name_bank("bertrand-mullainathan-2004")
        assert client.health() == {"status": "ok"} and client.ready() == {"status": "ready"}
        with pytest.raises(NotFoundError) as caught:
            client.name_bank("no/such bank")
    names = {m.name for m in catalogue.metrics}
    assert {"disparate_impact", "statistical_parity_difference", "flip_rate"} <= names
    assert {r.name for r in catalogue.decision_rules} == {"bound", "parity"}
    assert next(r for r in catalogue.decision_rules if r.name == "bound").passes
    assert {b.id for b in banks} == {"bertrand-mullainathan-2004", "tzioumis-census-2010"}
    assert {g.id for g in bank.groups} >= {"white_male", "black_female"}
    assert all(isinstance(n.name, str) for g in bank.groups for n in g.first_names)  # type: ignore[union-attr]
    assert caught.value.status == 404 and caught.value.request_id


def test_an_html_report_carries_the_same_report(live_server: str, compas: pd.DataFrame) -> None:
    with Client(live_server, timeout=30) as client:
        plain = client.audit(high_risk(compas), label="two_year_recid", prediction="high", favorable=0,
                             protected=[RACE])
        paged = client.audit(high_risk(compas), label="two_year_recid", prediction="high", favorable=0,
                             protected=[RACE], html=True)
    assert plain.html is None and paged.html is not None and paged.html.startswith("<!DOCTYPE html>")
    assert paged.raw["findings"] == plain.raw["findings"] and paged.verdict == plain.verdict


# ------------------------------------------------------------------ errors and retries


@contextmanager
def keyed_server(**settings: Any) -> Iterator[str]:
    with serve(create_app(Settings(**settings))) as url:
        yield url


def test_authentication_errors(compas: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    with keyed_server(api_keys=frozenset({"s3cret"})) as url:
        with pytest.raises(AuthenticationError) as caught:
            Client(url).catalogue()
        assert caught.value.status == 401
        assert len(Client(url, api_key="s3cret").metrics()) > 20
        monkeypatch.setenv("FAIRPROBE_URL", url)
        monkeypatch.setenv("FAIRPROBE_API_KEY", "s3cret")
        assert Client().base_url == url and len(Client().metrics()) > 20  # both from the environment


def test_bad_request_errors_name_the_field(live_server: str) -> None:
    with Client(live_server) as client, pytest.raises(BadRequestError) as caught:
        client.request("POST", "/v1/audits", data='{"label": "y", "label": "z"}',
                       headers={"Content-Type": "application/json"})
    assert caught.value.status == 400 and not isinstance(caught.value, UnprocessableEntityError)
    assert caught.value.fields == ["body"]


class Front:
    """A gateway in front of the real app: answers ``status`` (with ``Retry-After`` when given) to the first
    ``failures`` calls, then passes calls through; records when each call arrived."""

    def __init__(self, app: Flask, status: int, failures: int, retry_after: str | None) -> None:
        self.app, self.status, self.failures, self.retry_after = app, status, failures, retry_after
        self.arrivals: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        Request(environ).get_data()
        with self._lock:
            self.arrivals.append(time.monotonic())
            failing = len(self.arrivals) <= self.failures
        if failing:
            headers = {"Retry-After": self.retry_after} if self.retry_after else {}
            body = json.dumps({"type": "about:blank", "title": "wait", "status": self.status})
            return Response(body, status=self.status, headers=headers,
                            mimetype="application/problem+json")(environ, start_response)
        return self.app(environ, start_response)


@pytest.mark.parametrize(("status", "error"), [(429, RateLimitError), (503, ServiceBusyError)])
def test_retries_wait_what_retry_after_says(app: Flask, status: int, error: type[APIStatusError]) -> None:
    front = Front(app, status, failures=2, retry_after="1")
    with serve(front) as url:
        started = time.monotonic()
        assert Client(url, retries=2, backoff=0.01).health() == {"status": "ok"}
        elapsed = time.monotonic() - started
    gaps = [b - a for a, b in zip(front.arrivals, front.arrivals[1:], strict=False)]
    assert len(front.arrivals) == 3 and all(g >= 0.95 for g in gaps), gaps  # Retry-After: 1, twice
    assert elapsed < 5
    front = Front(app, status, failures=5, retry_after="1")
    with serve(front) as url, pytest.raises(error) as caught:
        Client(url, retries=1, backoff=0.01).health()
    assert len(front.arrivals) == 2 and caught.value.retry_after == "1"


def test_a_huge_retry_after_is_capped(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fairprobe_client._client, "MAX_RETRY_WAIT", 0.5)
    front = Front(app, 429, failures=1, retry_after="3600")
    with serve(front) as url:
        assert Client(url, retries=1).health() == {"status": "ok"}
    assert 0.45 <= front.arrivals[1] - front.arrivals[0] < 5


@pytest.mark.parametrize("status", [502, 504])
def test_gateway_errors_back_off_and_raise_server_errors(app: Flask, status: int) -> None:
    front = Front(app, status, failures=9, retry_after=None)
    with serve(front) as url, pytest.raises(ServerError) as caught:
        Client(url, retries=2, backoff=0.2).health()
    assert caught.value.status == status and len(front.arrivals) == 3
    gaps = [b - a for a, b in zip(front.arrivals, front.arrivals[1:], strict=False)]
    assert gaps[1] >= 0.35  # exponential backoff: 0 then 0.2 * 2


def test_connection_errors_are_retried_then_raised() -> None:
    with socket.socket() as sock:  # a port with nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    with pytest.raises(APIConnectionError):
        Client(url, retries=0).health()
    once = time.monotonic() - started
    started = time.monotonic()
    with pytest.raises(APIConnectionError):
        Client(url, retries=2, backoff=0.3).health()
    assert time.monotonic() - started >= 0.55 > once  # two retries, the second after 0.3 * 2 s


def test_a_timeout_is_its_own_error(app: Flask) -> None:
    def slow(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        time.sleep(1.5)
        return app(environ, start_response)

    with serve(slow) as url, pytest.raises(APITimeoutError):
        Client(url, timeout=0.3, retries=0).health()


def test_the_package_is_typed_and_its_surface_pinned() -> None:
    import fairprobe

    assert (files("fairprobe_client") / "py.typed").is_file()
    assert fairprobe.__all__ == ["Settings", "__version__", "create_app"]
    assert {"Client", "AuditReport", "ProbeReport", "StressReport", "DiscriminationReport", "Finding",
            "BadRequestError", "AuthenticationError", "NotFoundError", "RateLimitError", "ServerError",
            "__version__"} <= set(fairprobe_client.__all__)
    assert all(hasattr(fairprobe_client, name) for name in fairprobe_client.__all__)
    assert dataclasses.is_dataclass(fairprobe_client.AuditReport)
