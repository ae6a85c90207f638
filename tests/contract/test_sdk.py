"""The SDK and CLI against the real app served on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import fairprobe_client
from fairprobe_client import APIConnectionError, APIStatusError, Client
from fairprobe_client.cli import main


def test_audit_a_dataframe(live_server: str, compas: pd.DataFrame) -> None:
    frame = compas.assign(high=(compas.decile_score >= 5).astype(int))
    with Client(live_server, timeout=30) as client:
        report = client.audit(frame, label="two_year_recid", prediction="high", favorable=0,
                              protected=[{"attribute": "race", "reference": "Caucasian"}, "sex"])
    groups = {g["label"]: g for g in report["groups"]}
    assert round(100 * groups["race=African-American"]["metrics"]["false_positive_rate"]["value"], 2) == 44.85
    assert report["verdict"] == "fail"


def test_nan_is_sent_as_null_and_the_problem_names_the_field(live_server: str) -> None:
    frame = pd.DataFrame({"g": ["a", None, "b"], "y": [1, 0, 1], "p": [1, 1, 0]})
    with Client(live_server) as client, pytest.raises(APIStatusError) as caught:
        client.audit(frame, label="y", prediction="p", protected=["g"])
    error = caught.value
    assert error.status == 422
    assert error.fields == ["protected[0].attribute"]
    assert error.request_id and error.problem["request_id"] == error.request_id


def test_api_key_is_sent(compas: pd.DataFrame) -> None:
    import threading

    from werkzeug.serving import make_server

    from fairprobe import Settings, create_app

    server = make_server("127.0.0.1", 0, create_app(Settings(api_keys=frozenset({"s3cret"}))), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        with pytest.raises(APIStatusError) as caught:
            Client(url).metrics()
        assert caught.value.status == 401
        assert len(Client(url, api_key="s3cret").metrics()) > 20
    finally:
        server.shutdown()
        server.server_close()


def test_connection_errors_are_translated() -> None:
    with pytest.raises(APIConnectionError):
        Client("http://127.0.0.1:9", timeout=2).health()


def test_cli_exit_code_gates_on_the_verdict(live_server: str, compas: pd.DataFrame, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "compas.csv"  # the test's own scratch file; the service writes nothing to disk
    compas.assign(high=(compas.decile_score >= 5).astype(int))[["race", "two_year_recid", "high"]].to_csv(
        csv, index=False)
    code = main(["--url", live_server, "audit", str(csv), "--label", "two_year_recid", "--prediction", "high",
                 "--favorable", "0", "--protected", "race=Caucasian"])
    assert code == 1  # fail
    out = capsys.readouterr().out  # the in-process server's log lines share stdout: find the report
    report, _ = json.JSONDecoder().raw_decode(out, out.index('{\n  "verdict"'))
    assert report["verdict"] == "fail"
    code = main(["--url", live_server, "audit", str(csv), "--label", "nope", "--protected", "race"])
    assert code == 3


def test_public_surface_is_pinned() -> None:
    import fairprobe

    assert fairprobe.__all__ == ["Settings", "__version__", "create_app"]
    assert fairprobe_client.__all__ == ["DEFAULT_TIMEOUT", "APIConnectionError", "APIStatusError",
                                        "APITimeoutError", "Client", "FairprobeClientError"]
