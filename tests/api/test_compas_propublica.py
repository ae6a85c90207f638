"""The audit reproduces ProPublica's published COMPAS figures exactly (data README, section 1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
from flask.testing import FlaskClient

from tests.answers import json_of

# ProPublica, "How We Analyzed the COMPAS Recidivism Algorithm", and the notebook's truth tables
PUBLISHED = {  # group: (TN, FP, FN, TP, FPR %, FNR %)
    "African-American": (990, 805, 532, 1369, 44.85, 27.99),
    "Caucasian": (1139, 349, 461, 505, 23.45, 47.72),
}


def _audit(client: FlaskClient, compas: pd.DataFrame) -> Any:
    records = [{"race": r, "two_year_recid": int(y), "high_risk": int(d >= 5)}
               for r, y, d in zip(compas.race, compas.two_year_recid, compas.decile_score, strict=True)]
    response = client.post("/v1/audits", json={
        "data": {"records": records}, "label": "two_year_recid", "prediction": "high_risk",
        "positive_label": 1, "favorable": 0, "protected": [{"attribute": "race", "reference": "Caucasian"}],
    })
    assert response.status_code == 200, json_of(response)
    return json_of(response)


def test_published_fpr_and_fnr_by_race(client: FlaskClient, compas: pd.DataFrame) -> None:
    report = _audit(client, compas)
    groups = {g["group"]["race"]: g for g in report["groups"]}
    for race, (tn, fp, fn, tp, fpr, fnr) in PUBLISHED.items():
        metrics = groups[race]["metrics"]
        assert groups[race]["n"] == tn + fp + fn + tp
        assert metrics["false_positive_rate"]["numerator"] == fp
        assert metrics["false_positive_rate"]["denominator"] == fp + tn
        assert metrics["false_negative_rate"]["numerator"] == fn
        assert metrics["false_negative_rate"]["denominator"] == fn + tp
        assert round(100 * metrics["false_positive_rate"]["value"], 2) == fpr
        assert round(100 * metrics["false_negative_rate"]["value"], 2) == fnr
        low, high = metrics["false_positive_rate"]["ci_low"], metrics["false_positive_rate"]["ci_high"]
        assert low < fpr / 100 < high
    # "black defendants are 91% more likely to get a higher score and not go on to commit more crimes"
    black, white = groups["African-American"]["metrics"], groups["Caucasian"]["metrics"]
    assert round(black["false_positive_rate"]["value"] / white["false_positive_rate"]["value"], 2) == 1.91
    fpr_gap = groups["African-American"]["disparities"]["false_positive_rate_difference"]
    assert fpr_gap["p_value"] < 1e-30 and fpr_gap["test"] == "two_proportion_z_pooled"


def test_matches_the_published_figures_file(client: FlaskClient, compas: pd.DataFrame, data_dir: Path) -> None:
    published = json.loads((data_dir / "compas" / "propublica_published_figures.json").read_text())["published"]
    names = {"black": "African-American", "white": "Caucasian"}
    groups = {g["group"]["race"]: g for g in _audit(client, compas)["groups"]}
    for key, race in names.items():
        metrics = groups[race]["metrics"]
        assert groups[race]["n"] == published[key]["n"]
        assert round(100 * metrics["false_positive_rate"]["value"], 2) == published[key]["fpr"]
        assert round(100 * metrics["false_negative_rate"]["value"], 2) == published[key]["fnr"]
    # the published ratio divides the rounded percentages (44.85 / 23.45)
    rounded = [round(100 * groups[r]["metrics"]["false_positive_rate"]["value"], 2) for r in names.values()]
    assert round(rounded[0] / rounded[1], 4) == published["ratios"]["fpr_black_over_white"]


def test_high_only_threshold_variant(client: FlaskClient, compas: pd.DataFrame, data_dir: Path) -> None:
    """The notebook's 'hightable': only score_text == 'High' counts as predicted positive."""
    published = json.loads((data_dir / "compas" / "propublica_published_figures.json").read_text())
    high = published["published"]["high_only_threshold"]
    response = client.post("/v1/audits", json={
        "data": {"columns": {"race": compas.race.tolist(), "y": compas.two_year_recid.tolist(),
                             "risk": compas.score_text.tolist()}},
        "label": "y", "prediction": "risk", "positive_label": "High", "negative_label": "Low",
        "protected": [{"attribute": "race", "reference": "Caucasian"}],
    })
    # label and prediction share the declared values: the 0/1 label column is refused, by its field
    assert response.status_code == 422
    assert json_of(response)["errors"][0]["field"] == "label"
    response = client.post("/v1/audits", json={
        "data": {"columns": {"race": compas.race.tolist(), "y": compas.two_year_recid.tolist(),
                             "high": (compas.score_text == "High").astype(int).tolist()}},
        "label": "y", "prediction": "high", "protected": [{"attribute": "race", "reference": "Caucasian"}],
    })
    groups = {g["group"]["race"]: g["metrics"] for g in json_of(response)["groups"]}
    for key, race in {"black": "African-American", "white": "Caucasian"}.items():
        assert round(100 * groups[race]["false_positive_rate"]["value"], 2) == high[key]["fpr"]
        assert round(100 * groups[race]["false_negative_rate"]["value"], 2) == high[key]["fnr"]
