"""The alerting rules and the Grafana dashboard shipped in ops/ read the series the service writes: promtool
checks the rules, runs their unit tests (they fire on a failing series), lints a real audit answered as
OpenMetrics, and parses every dashboard query; every series name they use is one the service writes."""

from __future__ import annotations

import json
import os
import re
import runpy
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from flask.testing import FlaskClient

from fairprobe.report.openmetrics import FAMILIES, OPENMETRICS
from tests.answers import json_of

OPS = Path(__file__).resolve().parents[2] / "ops"
PROMTOOL = os.environ.get("FAIRPROBE_PROMTOOL") or shutil.which("promtool")
#: series a Pushgateway adds to every pushed group
PUSHGATEWAY = {"push_time_seconds", "push_failure_time_seconds"}
WRITTEN = {name for name, _ in FAMILIES}


def promtool(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL, "promtool is missing: `make test` installs Debian's prometheus package"
    return subprocess.run([PROMTOOL, *args], input=stdin, capture_output=True, text=True, timeout=60, cwd=cwd)


def _series(expr: str) -> set[str]:
    """Metric names a PromQL expression reads (identifiers followed by a selector or standing alone)."""
    names = set(re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?=\{)", expr))
    return {n for n in names if n.startswith(("fairprobe_", "push_"))}


def _dashboard_exprs() -> list[str]:
    dashboard = json.loads((OPS / "grafana" / "fairprobe-dashboard.json").read_text())
    return [t["expr"] for p in dashboard["panels"] for t in p["targets"]]


def test_the_alert_rules_load_and_fire_on_a_failing_series() -> None:
    checked = promtool("check", "rules", "fairprobe-alerts.yml", cwd=OPS / "prometheus")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool("test", "rules", "fairprobe-alerts.test.yml", cwd=OPS / "prometheus")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_rules_and_dashboard_read_only_series_the_service_writes(tmp_path: Path) -> None:
    rules = yaml.safe_load((OPS / "prometheus" / "fairprobe-alerts.yml").read_text())
    exprs = [r["expr"] for g in rules["groups"] for r in g["rules"]] + _dashboard_exprs()
    used = set().union(*(_series(e) for e in exprs))
    assert used and used <= WRITTEN | PUSHGATEWAY, used - WRITTEN - PUSHGATEWAY
    # every family the service writes is shown somewhere
    assert used >= WRITTEN
    # the dashboard's queries parse: as recording rules, with Grafana's variables filled in
    recording = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"fairprobe_dashboard:query_{i}", "expr": e.replace("$job", ".*").replace("$metric", ".*")}
        for i, e in enumerate(_dashboard_exprs())]}]}
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump(recording))
    checked = promtool("check", "rules", str(path))
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.fixture(scope="module")
def compas_metrics(client_module: FlaskClient, compas: pd.DataFrame) -> tuple[str, dict[str, Any]]:
    body = {"data": {"columns": {"race": compas.race.tolist(), "recid": compas.two_year_recid.tolist(),
                                 "high": (compas.decile_score >= 5).astype(int).tolist(),
                                 "date": compas.compas_screening_date.tolist()}},
            "label": "recid", "prediction": "high", "favorable": 0,
            "protected": [{"attribute": "race", "reference": "Caucasian"}],
            "time": {"column": "date", "window": "quarter", "drift": 0.1}, "diagnostics": ["windows"]}
    text = client_module.post("/v1/audits", json=body, headers={"Accept": OPENMETRICS})
    assert text.status_code == 200 and text.mimetype == OPENMETRICS
    report = json_of(client_module.post("/v1/audits", json=body))
    return text.get_data(as_text=True), report


def test_a_real_audit_as_openmetrics_passes_promtool(compas_metrics: tuple[str, dict[str, Any]]) -> None:
    text, _ = compas_metrics
    assert text.endswith("# EOF\n")
    checked = promtool("check", "metrics", stdin=text)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_gauges_carry_the_reports_numbers(compas_metrics: tuple[str, dict[str, Any]]) -> None:
    text, report = compas_metrics
    assert 'fairprobe_report_verdict{kind="audit",status="fail"} 1' in text
    assert 'fairprobe_report_verdict{kind="audit",status="pass"} 0' in text
    finding = next(f for f in report["findings"] if f["metric"] == "disparate_impact"
                   and f["group"] == {"race": "African-American"})
    line = next(line for line in text.splitlines() if line.startswith("fairprobe_finding_value{")
                and 'section="audit"' in line and 'metric="disparate_impact"' in line
                and 'group="race=African-American"' in line)
    assert float(line.rsplit(" ", 1)[1]) == pytest.approx(finding["value"], rel=1e-15)
    windows = [line for line in text.splitlines() if 'section="windows"' in line and 'window="2013Q2"' in line]
    assert windows  # per-window findings and drift are series too, labelled by window


def test_format_openmetrics_in_the_query_and_an_unknown_format(client: FlaskClient) -> None:
    body = {"data": {"records": [{"g": g, "y": y, "p": p} for g, y, p in
                                 [("a", 1, 1), ("b", 0, 1), ("a", 0, 0), ("b", 1, 0)] * 20]},
            "label": "y", "prediction": "p", "protected": [{"attribute": "g"}]}
    answer = client.post("/v1/audits?format=openmetrics", json=body)
    assert answer.status_code == 200 and answer.mimetype == OPENMETRICS
    assert answer.headers["X-Fairprobe-Verdict"] in ("pass", "fail", "inconclusive")
    refused = client.post("/v1/audits?format=xml", json=body)
    assert refused.status_code == 400 and "format" in [e["field"] for e in json_of(refused)["errors"]]


ROOT = OPS.parent


def test_the_dockerfile_is_multi_stage_pinned_and_lint_clean() -> None:
    """hadolint finds nothing; the base is pinned by digest; the final stage copies the built environment,
    not the source tree; the healthcheck asks the port gunicorn is told to bind; the build script keeps it
    (``--format docker``). scripts/container.sh builds and runs the image itself (too slow for every run)."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    lint = subprocess.run([str(Path(sys.executable).parent / "hadolint"), "--no-color", "-"], input=dockerfile,
                          capture_output=True, text=True, timeout=60, check=False)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    default_base = re.search(r"^ARG BASE_IMAGE=(\S+)$", dockerfile, re.M)
    assert default_base and re.search(r"@sha256:[0-9a-f]{64}$", default_base.group(1))
    stages = re.split(r"^FROM ", dockerfile, flags=re.M)[1:]
    assert len(stages) == 2 and stages[0].startswith("${BASE_IMAGE} AS build")
    final = stages[1]
    assert "COPY --from=build /opt/fairprobe /opt/fairprobe" in final
    assert "COPY service" not in final and "pip" not in final
    assert re.search(r"^USER 10001$", final, re.M) and "FAIRPROBE_BIND" in final.split("HEALTHCHECK")[1]
    assert "--format docker" in (ROOT / "scripts" / "container.sh").read_text()


def test_a_worker_trims_its_memory_once_idle_after_a_large_request(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    """gunicorn.conf.py's IdleTrim: nothing after small requests, nothing while a request is in flight, one trim
    once the worker has been idle after a large one."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))  # the config then makes no directory of its own
    conf = runpy.run_path(str(Path(__file__).resolve().parents[2] / "gunicorn.conf.py"))
    trims: list[int] = []
    idle = conf["IdleTrim"](trims.append, idle_s=0.05)
    idle.started()
    idle.finished(False)
    time.sleep(0.2)
    assert trims == []  # a small request: nothing to give back
    idle.started()
    idle.finished(True)
    idle.started()  # the next request began before the worker was idle
    time.sleep(0.2)
    assert trims == []  # never while a request is in flight
    idle.finished(False)
    deadline = time.monotonic() + 10
    while not trims and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    assert trims == [0]  # once, after the idle time
