"""The CLI as a release gate: 0 pass, 1 fail, 2 inconclusive, 3 for every error path, each one tried."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from demo.serving import serve
from flask import Flask

from fairprobe import Settings, create_app
from fairprobe_client.cli import main

FAIRPROBE = Path(sys.executable).with_name("fairprobe")


@pytest.fixture(scope="module")
def compas_csv(tmp_path_factory: pytest.TempPathFactory, compas: pd.DataFrame) -> Path:
    path = tmp_path_factory.mktemp("cli") / "compas.csv"  # the test's own scratch file
    frame = compas.assign(high=(compas.decile_score >= 5).astype(int))
    frame[["race", "sex", "two_year_recid", "high"]].to_csv(path, index=False)
    return path


def fair_csv(path: Path, n: int, seed: int = 3) -> Path:
    """Two groups decided by the same coin: a fair model; ``n`` people each."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"g": np.repeat([0, 1], n), "y": rng.integers(0, 2, 2 * n),
                          "p": rng.integers(0, 2, 2 * n)})
    frame.to_csv(path, index=False)
    return path


def audit_args(url: str, csv: Path, *more: str) -> list[str]:
    return ["--url", url, "audit", str(csv), "--label", "two_year_recid", "--prediction", "high",
            "--favorable", "0", "--protected", "race=Caucasian", "--max-intersection-order", "1", *more]


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The installed ``fairprobe`` script, as a pipeline runs it."""
    return subprocess.run([str(FAIRPROBE), *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


# ------------------------------------------------------------------ verdicts


def test_the_three_verdicts_exit_0_1_2(live_server: str, compas_csv: Path, tmp_path: Path) -> None:
    fail = run(*audit_args(live_server, compas_csv), "--format", "json")
    assert fail.returncode == 1 and json.loads(fail.stdout)["verdict"] == "fail"
    policy = ["--policy", str(write(tmp_path / "p.yaml", "rules: [{metric: statistical_parity_difference, "
                                                              "max_abs: 0.1}]\nmin_group_size: 10\n"))]
    passed = run("--url", live_server, "audit", str(fair_csv(tmp_path / "fair.csv", 3000)), "--label", "y",
                 "--prediction", "p", "--protected", "g", *policy, "--format", "json")
    assert passed.returncode == 0 and json.loads(passed.stdout)["verdict"] == "pass"
    small = run("--url", live_server, "audit", str(fair_csv(tmp_path / "small.csv", 40)), "--label", "y",
                "--prediction", "p", "--protected", "g", *policy, "--format", "json")
    assert small.returncode == 2 and json.loads(small.stdout)["verdict"] == "inconclusive"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ every error path exits 3


def refused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def usage_cases(url: str, csv: Path, tmp: Path) -> dict[str, list[str]]:
    return {
        "unknown option": [*audit_args(url, csv), "--no-such-option"],
        "unknown command": ["--url", url, "judge", str(csv)],
        "missing required option": ["--url", url, "audit", str(csv), "--protected", "race"],
        "missing data file": audit_args(url, tmp / "absent.csv"),
        "a directory as the data file": audit_args(url, tmp),
        "missing policy file": [*audit_args(url, csv), "--policy", str(tmp / "absent.yaml")],
        "policy is not YAML": [*audit_args(url, csv), "--policy", str(write(tmp / "bad.yaml", "rules: [unclosed"))],
        "policy is not JSON": [*audit_args(url, csv), "--policy", str(write(tmp / "bad.json", '{"rules": '))],
        "policy is a list": [*audit_args(url, csv), "--policy", str(write(tmp / "list.yaml", "- a\n- b\n"))],
        "policy is not UTF-8": [*audit_args(url, csv), "--policy", str(write_bytes(tmp / "l.yaml", b"rules: \xe9\n"))],
        "data is not CSV": audit_args(url, write_bytes(tmp / "bin.csv", b"\x00\xff\xfe" * 100)),
        "label value not of the column's type": [*audit_args(url, csv), "--positive-label", "yes"],
        "reference not of the column's type": ["--url", url, "audit", str(csv), "--label", "two_year_recid",
                                               "--prediction", "high", "--protected", "two_year_recid=maybe"],
        "bad --timeout": ["--timeout", "-1", *audit_args(url, csv)],
        "bad --sep": [*audit_args(url, csv), "--sep", ";;"],
        "bad --format": [*audit_args(url, csv), "--format", "pdf"],
        "missing spec": ["--url", url, "name-swap", str(tmp / "absent.yaml")],
        "spec names an unset variable": ["--url", url, "flip", str(write(
            tmp / "spec.yaml", "endpoint: {url: 'http://x/', headers: {K: '${FAIRPROBE_TEST_UNSET}'}}\n"))],
        "spec names a missing file": ["--url", url, "flip", str(write(tmp / "s2.yaml", "profiles: {file: no.csv}\n"))],
        "no command": ["--url", url],
    }


USAGE_CASES = ["unknown option", "unknown command", "missing required option", "missing data file",
               "a directory as the data file", "missing policy file", "policy is not YAML", "policy is not JSON",
               "policy is a list", "policy is not UTF-8", "data is not CSV", "label value not of the column's type",
               "reference not of the column's type", "bad --timeout", "bad --sep", "bad --format", "missing spec",
               "spec names an unset variable", "spec names a missing file", "no command"]


@pytest.mark.parametrize("case", USAGE_CASES)
def test_usage_and_input_errors_exit_3(case: str, live_server: str, compas_csv: Path, tmp_path: Path) -> None:
    cases = usage_cases(live_server, compas_csv, tmp_path)
    assert list(cases) == USAGE_CASES
    assert main(cases[case]) == 3


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_a_4xx_answer_exits_3(live_server: str, compas_csv: Path) -> None:
    assert main([*audit_args(live_server, compas_csv)[:-2], "--label", "nope"]) == 3  # the service names it
    assert main([*audit_args(live_server, compas_csv), "--policy", str(compas_csv)]) == 3  # not a policy: 422


def test_a_5xx_answer_exits_3(compas_csv: Path) -> None:
    def failing(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        start_response("500 INTERNAL SERVER ERROR", [("Content-Type", "application/problem+json")])
        return [b'{"title": "boom", "status": 500}']

    with serve(failing) as url:
        assert main(["--retries", "0", *audit_args(url, compas_csv)]) == 3


def test_connection_refused_exits_3(compas_csv: Path) -> None:
    assert main(["--retries", "0", *audit_args(f"http://127.0.0.1:{refused_port()}", compas_csv)]) == 3


def test_a_timeout_exits_3(app: Flask, compas_csv: Path) -> None:
    def slow(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        time.sleep(2)
        return app(environ, start_response)

    with serve(slow) as url:
        started = time.monotonic()
        assert main(["--timeout", "0.3", "--retries", "0", *audit_args(url, compas_csv)]) == 3
        assert time.monotonic() - started < 2


def test_errors_are_one_clear_message_without_a_traceback(live_server: str, compas_csv: Path, tmp_path: Path) -> None:
    result = run(*audit_args(live_server, compas_csv)[:-2], "--label", "nope")
    assert result.returncode == 3 and "Traceback" not in result.stderr
    assert "422" in result.stderr and "label" in result.stderr and "request id" in result.stderr
    result = run(*audit_args(live_server, compas_csv), "--policy", str(write(tmp_path / "x.yaml", "a: [")))
    assert result.returncode == 3 and "Traceback" not in result.stderr and "--policy" in result.stderr
    refused = run("--retries", "0", *audit_args(f"http://127.0.0.1:{refused_port()}", compas_csv))
    assert refused.returncode == 3 and "no connection" in refused.stderr and "Traceback" not in refused.stderr


def test_version_and_help_exit_0() -> None:
    from importlib.metadata import version

    result = run("--version")
    assert result.returncode == 0 and version("fairprobe-client") in result.stdout
    assert run("--help").returncode == 0 and run("audit", "--help").returncode == 0


# ------------------------------------------------------------------ what is sent


def test_options_are_typed_like_their_columns(live_server: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    n = 400
    frame = pd.DataFrame({"sex": rng.integers(0, 2, n), "region": rng.choice(["n", "s"], n),
                          "y": rng.choice(["no", "yes"], n), "p": rng.choice(["no", "yes"], n),
                          "w": rng.uniform(0.5, 2, n), "c": rng.integers(1, 4, n)})
    frame.to_csv(tmp_path / "d.csv", sep=";", index=False)
    out = tmp_path / "r.json"
    code = main(["--url", live_server, "audit", str(tmp_path / "d.csv"), "--sep", ";", "--label", "y",
                 "--positive-label", "yes", "--prediction", "p", "--favorable", "no", "--protected", "sex=0",
                 "--protected", "region=s", "--intersections", "sex,region", "--weight", "w", "--out", str(out)])
    report = json.loads(out.read_text())
    assert code in (0, 1, 2), report
    record = report["audit"]
    assert record["positive_label"] == "yes" and record["favorable"] == "no"
    assert record["columns"]["weight"] == "w"
    assert {json.dumps(p["reference"], sort_keys=True) for p in record["partitions"]} == {
        '{"sex": 0}', '{"region": "s"}', '{"region": "s", "sex": 0}'}
    # the weights were used: the weighted n of sex=1 is the sum of its weights
    group = next(g for g in report["groups"] if g["group"] == {"sex": 1})
    assert group["weighted_n"] == pytest.approx(frame.loc[frame.sex == 1, "w"].sum())
    # a counts table: --count
    cells = frame.groupby(["sex", "y", "p"]).size().rename("n").reset_index()
    cells.to_csv(tmp_path / "cells.csv", index=False)
    code = main(["--url", live_server, "audit", str(tmp_path / "cells.csv"), "--label", "y", "--positive-label",
                 "yes", "--prediction", "p", "--protected", "sex", "--count", "n", "--out", str(out)])
    counted = json.loads(out.read_text())
    assert code in (0, 1, 2) and counted["audit"]["data_kind"] == "counts" and counted["audit"]["people"] == n


def test_url_and_key_come_from_the_environment(compas_csv: Path) -> None:
    with serve(create_app(Settings(api_keys=frozenset({"k-123"})))) as url:
        no_key = run(*audit_args(url, compas_csv)[2:], env={"FAIRPROBE_URL": url})
        assert no_key.returncode == 3 and "401" in no_key.stderr
        keyed = run(*audit_args(url, compas_csv)[2:], "--format", "json",
                    env={"FAIRPROBE_URL": url, "FAIRPROBE_API_KEY": "k-123"})
        assert keyed.returncode == 1 and json.loads(keyed.stdout)["verdict"] == "fail"
        assert "k-123" not in keyed.stdout + keyed.stderr


# ------------------------------------------------------------------ output formats


def test_every_format_shows_the_same_findings(live_server: str, compas_csv: Path, tmp_path: Path) -> None:
    paths = {form: tmp_path / f"report.{ext}" for form, ext in
             (("json", "json"), ("junit", "xml"), ("markdown", "md"), ("html", "html"), ("table", "txt"))}
    for form, path in paths.items():
        assert main([*audit_args(live_server, compas_csv), "--out", str(path)]) == 1, form
    report = json.loads(paths["json"].read_text())
    statuses = [f["status"] for f in report["findings"]]
    suite = ET.parse(paths["junit"]).getroot().find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert len(cases) == len(statuses)
    assert int(suite.get("failures", -1)) == statuses.count("fail") == sum(c.find("failure") is not None
                                                                          for c in cases)
    assert int(suite.get("skipped", -1)) == statuses.count("inconclusive")
    markdown = paths["markdown"].read_text()
    assert markdown.count("\n| ") == len(statuses) + 1  # a header row and a row per finding
    html = paths["html"].read_text()
    assert html.startswith("<!DOCTYPE html>") and 'id="fairprobe-report"' in html
    table = paths["table"].read_text()
    assert table.startswith("verdict: FAIL")
    assert sum(line.startswith(("fail", "inconclusive")) for line in table.splitlines()) == \
        statuses.count("fail") + statuses.count("inconclusive")
    # on stdout, in a pipe: JSON by default
    piped = run(*audit_args(live_server, compas_csv))
    assert json.loads(piped.stdout)["findings"] == report["findings"]
