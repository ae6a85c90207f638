"""The Bank Marketing campaign audited as a personalization system: touchpoints (``campaign``, contacts during
the campaign) as a continuous outcome by age band and marital status, and ``job`` as the segment a customer
was placed in, with management and entrepreneurs as the valuable segments. Every number is checked against
an independent pandas / scipy computation; the counts-table form gives the same answers as the rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from flask.testing import FlaskClient
from scipy import stats
from scipy.stats.contingency import association

from tests.diagnostics.conftest import audit

VALUABLE = ["management", "entrepreneur"]
AGE_BINS = [30, 40, 50, 60]
BANDS = ["< 30", "[30, 40)", "[40, 50)", "[50, 60)", ">= 60"]


@pytest.fixture(scope="module")
def bank(data_dir: Path) -> pd.DataFrame:
    frame = pd.read_csv(data_dir / "bank" / "bank-full.csv", sep=";")
    assert len(frame) == 45211
    frame["band"] = pd.cut(frame["age"], [-np.inf, *AGE_BINS, np.inf], right=False, labels=BANDS).astype(str)
    return frame


def _body(bank: pd.DataFrame, **extra: Any) -> dict[str, Any]:
    return {"data": {"columns": {c: bank[c].tolist() for c in ("age", "marital", "job", "campaign")}},
            "protected": [{"attribute": "age", "bins": AGE_BINS, "reference": "[30, 40)"},
                          {"attribute": "marital", "reference": "married"}],
            "outcome": {"column": "campaign", "favours": "neither"},
            "segment": {"column": "job", "valuable": VALUABLE}, "diagnostics": [], **extra}


@pytest.fixture(scope="module")
def report(client_module: FlaskClient, bank: pd.DataFrame) -> dict[str, Any]:
    return audit(client_module, _body(bank))


def _section(report: dict[str, Any], name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [s for s in report["outputs"] if s["name"] == name]
    assert len(found) == 1
    return found[0]


def test_touchpoints_by_age_band_equal_scipy(report: dict[str, Any], bank: pd.DataFrame) -> None:
    outcomes = _section(report, "outcomes")
    groups = {r["group"]["age"]: r for r in outcomes["tables"]["groups"] if r["attributes"] == ["age"]}
    assert set(groups) == set(BANDS)
    for band, row in groups.items():
        x = bank.loc[bank.band == band, "campaign"].to_numpy(float)
        assert row["n"] == len(x)
        assert row["mean"] == pytest.approx(x.mean(), rel=1e-12)
        assert row["sd"] == pytest.approx(x.std(ddof=1), rel=1e-9)
        low, high = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
        assert (row["ci_low"], row["ci_high"]) == (pytest.approx(low, rel=1e-9), pytest.approx(high, rel=1e-9))
        assert row["median"] == np.median(x) and row["p90"] == pytest.approx(np.percentile(x, 90))
    reference = bank.loc[bank.band == "[30, 40)", "campaign"].to_numpy(float)
    for row in (r for r in outcomes["tables"]["comparisons"] if r["attributes"] == ["age"]):
        x = bank.loc[bank.band == row["group"]["age"], "campaign"].to_numpy(float)
        assert row["reference"] == {"age": "[30, 40)"}
        assert row["mean_difference"] == pytest.approx(x.mean() - reference.mean(), rel=1e-9)
        assert row["mean_ratio"] == pytest.approx(x.mean() / reference.mean(), rel=1e-9)
        assert row["welch_p_value"] == pytest.approx(stats.ttest_ind(x, reference, equal_var=False).pvalue, rel=1e-6)
        mw = stats.mannwhitneyu(x, reference, alternative="two-sided", method="asymptotic")
        assert row["mann_whitney_p_value"] == pytest.approx(mw.pvalue, rel=1e-9)
        assert row["ks_statistic"] == pytest.approx(stats.ks_2samp(x, reference).statistic, rel=1e-12)
        pooled = np.sqrt(((len(x) - 1) * x.var(ddof=1) + (len(reference) - 1) * reference.var(ddof=1))
                         / (len(x) + len(reference) - 2))
        hedges = (x.mean() - reference.mean()) / pooled * (1 - 3 / (4 * (len(x) + len(reference)) - 9))
        assert row["standardized_mean_difference"] == pytest.approx(hedges, rel=1e-9)


def test_the_default_policy_judges_the_relative_gap_of_means(report: dict[str, Any], bank: pd.DataFrame) -> None:
    policy = report["audit"]["policy"]
    assert {r["metric"] for r in policy["rules"]} == {"disparate_impact", "statistical_parity_difference",
                                                      "outcome_mean"}
    gaps = [f for f in _section(report, "outcomes")["findings"] if f["metric"] == "outcome_mean"]
    assert gaps and all(f["in_verdict"] for f in gaps)
    single = next(f for f in gaps if f["group"] == {"marital": "single"})
    x = bank.loc[bank.marital == "single", "campaign"].mean() / bank.loc[bank.marital == "married", "campaign"].mean()
    assert single["value"] == pytest.approx(x - 1, rel=1e-9)
    assert single["ci_level"] == pytest.approx(0.9) and single["ci_low"] < single["value"] < single["ci_high"]


def test_job_segments_equal_a_crosstab_and_scipy(report: dict[str, Any], bank: pd.DataFrame) -> None:
    segments = _section(report, "segments")
    crosstab = pd.crosstab(bank["marital"], bank["job"])
    test = next(t for t in segments["tables"]["independence"] if t["attributes"] == ["marital"])
    chi2, p, df, _ = stats.chi2_contingency(crosstab.to_numpy(), correction=False)
    assert test["chi_square"] == pytest.approx(chi2, rel=1e-9) and test["df"] == df
    assert test["p_value"] == pytest.approx(p, abs=1e-300) and test["test"] == "pearson_chi_square"
    assert test["cramers_v"] == pytest.approx(association(crosstab.to_numpy(), method="cramer"), rel=1e-9)
    assert test["cramers_v_ci_low"] < test["cramers_v"] < test["cramers_v_ci_high"]
    shares = {(r["group"]["marital"], r["segment"]): r for r in segments["tables"]["shares"]
              if r["attributes"] == ["marital"]}
    within = crosstab.div(crosstab.sum(axis=1), axis=0)
    population = bank["job"].value_counts(normalize=True)
    for (marital, job), row in shares.items():
        assert row["n"] == crosstab.loc[marital, job]
        assert row["share"] == pytest.approx(within.loc[marital, job], rel=1e-12)
        assert row["representation_ratio"] == pytest.approx(within.loc[marital, job] / population[job], rel=1e-9)
        assert row["valuable"] == (job in VALUABLE)


def test_placement_in_valuable_segments_is_the_decision(report: dict[str, Any], bank: pd.DataFrame) -> None:
    placed = bank["job"].isin(VALUABLE)
    rate = placed.groupby(bank["marital"]).mean()
    finding = next(f for f in report["findings"] if f["metric"] == "disparate_impact"
                   and f["group"] == {"marital": "single"})
    assert finding["value"] == pytest.approx(rate["single"] / rate["married"], rel=1e-9)
    groups = {g["label"]: g for g in report["groups"]}
    assert groups["marital=divorced"]["metrics"]["selection_rate"]["value"] == pytest.approx(rate["divorced"])
    assert "true_positive_rate" not in groups["marital=divorced"]["metrics"]  # no label: not defined
    assert report["audit"]["columns"]["label"] is None


def test_a_counts_table_gives_the_same_outputs(client_module: FlaskClient, bank: pd.DataFrame,
                                               report: dict[str, Any]) -> None:
    cells = bank.groupby(["age", "marital", "job"]).agg(n=("campaign", "size"), s=("campaign", "sum"),
                                                        ss=("campaign", lambda v: float((v**2).sum())))
    cells = cells.reset_index()
    body = _body(bank)
    body["data"] = {"columns": {c: cells[c].tolist() for c in ("age", "marital", "job", "n", "s", "ss")}}
    body.update(count="n", outcome={"sum": "s", "sum_of_squares": "ss", "favours": "neither"})
    from_counts = audit(client_module, body)
    rows_means = {(tuple(r["attributes"]), str(r["group"])): r
                  for r in _section(report, "outcomes")["tables"]["groups"]}
    for row in _section(from_counts, "outcomes")["tables"]["groups"]:
        twin = rows_means[(tuple(row["attributes"]), str(row["group"]))]
        assert row["n"] == twin["n"]
        for key in ("mean", "sd", "ci_low", "ci_high"):
            assert row[key] == pytest.approx(twin[key], rel=1e-9), key
        assert "median" not in row  # needs rows
    assert [f["value"] for f in _section(from_counts, "outcomes")["findings"]] == pytest.approx(
        [f["value"] for f in _section(report, "outcomes")["findings"]], rel=1e-9)
    assert [t["chi_square"] for t in _section(from_counts, "segments")["tables"]["independence"]] == pytest.approx(
        [t["chi_square"] for t in _section(report, "segments")["tables"]["independence"]], rel=1e-12)
    assert [f["status"] for f in from_counts["findings"]] == [f["status"] for f in report["findings"]]
