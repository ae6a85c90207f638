"""Audits over time windows: per-quarter COMPAS findings equal a hand count; a planted drift is flagged in the
window it starts and not before; a stable process raises no drift finding (a few seeds here,
``benchmarks/bench_windows.py`` simulates many); bad time inputs are 422 problems naming the field."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from flask.testing import FlaskClient

from tests.answers import json_of
from tests.diagnostics.conftest import audit
from tests.windows.simulated import first_flagged, monitored, monitored_body


def _windows(report: dict[str, Any]) -> dict[str, Any]:
    section: dict[str, Any] = next(s for s in report["diagnostics"] if s["name"] == "windows")
    return section


def test_compas_by_quarter_equals_a_hand_count(client: FlaskClient, compas: pd.DataFrame) -> None:
    body = {"data": {"columns": {"race": compas.race.tolist(), "recid": compas.two_year_recid.tolist(),
                                 "high": (compas.decile_score >= 5).astype(int).tolist(),
                                 "date": compas.compas_screening_date.tolist()}},
            "label": "recid", "prediction": "high", "favorable": 0,
            "protected": [{"attribute": "race", "reference": "Caucasian"}],
            "time": {"column": "date", "window": "quarter"}, "diagnostics": ["windows"]}
    report = audit(client, body)
    section = _windows(report)
    quarters = pd.PeriodIndex(pd.to_datetime(compas.compas_screening_date), freq="Q")
    expected = sorted({f"{q.year}Q{q.quarter}" for q in quarters})
    assert [w["window"] for w in section["tables"]["windows"]] == expected
    q = compas[(quarters.year == 2013) & (quarters.quarter == 2)]
    assert next(w for w in section["tables"]["windows"] if w["window"] == "2013Q2")["rows"] == len(q)
    favourable = (q.decile_score < 5).groupby(q.race).mean()
    di = next(v for v in section["tables"]["values"] if v["window"] == "2013Q2"
              and v["metric"] == "disparate_impact" and v["group"] == {"race": "African-American"})
    assert di["value"] == pytest.approx(favourable["African-American"] / favourable["Caucasian"], rel=1e-9)
    fpr = next(v for v in section["tables"]["values"] if v["window"] == "2013Q2"
               and v["metric"] == "statistical_parity_difference" and v["group"] == {"race": "African-American"})
    assert fpr["value"] == pytest.approx(favourable["African-American"] - favourable["Caucasian"], rel=1e-9)
    # window findings say when; the whole data judge whether
    assert all(not f["in_verdict"] for f in section["findings"])
    assert report["verdict"] == "fail" and section["tables"]["first_flagged"][0]["window"] == "2013Q1"


def test_a_planted_drift_is_flagged_where_it_starts(client: FlaskClient) -> None:
    hits = sum(first_flagged(audit(client, monitored_body(monitored(seed, drift_from=5)))) == "2024-06"
               for seed in range(10))
    assert hits >= 8  # about 95% per run


def test_a_stable_process_raises_no_drift(client: FlaskClient) -> None:
    false_alarms = sum(first_flagged(audit(client, monitored_body(monitored(100 + seed, drift_from=None))))
                       is not None for seed in range(10))
    assert false_alarms <= 1


def test_drift_findings_count_when_the_drift_is_stated(client: FlaskClient) -> None:
    report = audit(client, monitored_body(monitored(7, drift_from=5)))
    drift = [f for f in _windows(report)["findings"] if f["metric"] == "window_drift"]
    assert drift and all(f["in_verdict"] for f in drift)
    late = next(f for f in drift if f["group"] == {"window": "2024-08", "group": "B"}
                and "statistical_parity_difference" in f["explanation"])
    assert late["status"] == "fail" and late["value"] < -0.05
    assert report["verdict"] == "fail"
    trend = next(t for t in _windows(report)["tables"]["trends"] if t["group"] == {"group": "B"})
    assert trend["slope_per_window"] < 0 and trend["p_value"] < 0.05
    # the step is found where it was planted
    assert trend["change_point"] == "2024-06" and trend["change_step"] < -0.1
    assert trend["change_p_value_bonferroni"] < 0.05


@pytest.mark.parametrize(("time", "field"), [
    ({"column": "group"}, "time.column"),
    ({"column": "nope"}, "time.column"),
    ({"column": "date", "edges": ["2024-01-29", "2024-01-31", "2024-03-01"]}, "time.edges"),
    ({"column": "date", "edges": ["2024-03-01", "2024-02-01"]}, "time.edges"),
    ({"column": "date", "edges": ["not a date"]}, "time.edges"),
    ({"column": "date", "window": "year"}, "time.column"),
    ({"column": "date", "baseline": "1999-01"}, "time.baseline"),
    ({"column": "date", "window": "month", "edges": ["2024-03-01"]}, "time.window"),
    ({"column": "date", "window": "fortnight"}, "time.window"),
    ({"column": "date", "drift": -1}, "time.drift"),
])
def test_bad_time_input_is_a_problem_naming_the_field(client: FlaskClient, time: dict[str, Any], field: str) -> None:
    body = monitored_body(monitored(1, drift_from=None, windows=3, per_group=50))
    body["time"] = time
    response = client.post("/v1/audits", json=body)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert field in [e["field"] for e in json_of(response)["errors"]]


def test_the_windows_section_needs_a_time_column(client: FlaskClient) -> None:
    body = monitored_body(monitored(1, drift_from=None, windows=2, per_group=50))
    del body["time"]
    response = client.post("/v1/audits", json=body)
    assert response.status_code == 422
    assert "diagnostics[0]" in [e["field"] for e in json_of(response)["errors"]]
