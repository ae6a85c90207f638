"""Aggregate where the data lives: a Dask DataFrame (local scheduler) on the real COMPAS and Bank Marketing
data is audited from the counts its own group-by computes, and every finding equals the audit of the rows."""

from __future__ import annotations

from pathlib import Path

import dask
import dask.dataframe as dd
import pandas as pd
import pytest

from fairprobe_client import Client, aggregate

RACE = {"attribute": "race", "reference": "Caucasian"}


@pytest.fixture(scope="module")
def rows(data_dir: Path) -> pd.DataFrame:
    compas = pd.read_csv(data_dir / "compas" / "compas-scores-two-years.csv")
    return pd.DataFrame({"race": compas.race, "sex": compas.sex, "recid": compas.two_year_recid,
                         "high": (compas.decile_score >= 5).astype(int), "priors": compas.priors_count})


def test_the_counts_equal_a_pandas_group_by_and_small_cells_can_be_suppressed(rows: pd.DataFrame) -> None:
    with dask.config.set(scheduler="synchronous"):
        table = aggregate(dd.from_pandas(rows, npartitions=4),  # type: ignore[no-untyped-call]
                          protected=["race", "sex"], label="recid",
                          prediction="high", outcome="priors")
    expected = rows.groupby(["race", "sex", "recid", "high"]).agg(people=("priors", "size"), s=("priors", "sum"))
    merged = table.merge(expected.reset_index(), on=["race", "sex", "recid", "high"])
    assert len(merged) == len(expected) == len(table)
    assert (merged["n"] == merged["people"]).all() and (merged["priors_sum"] == merged["s"]).all()
    assert int(table["n"].sum()) == len(rows)
    suppressed = aggregate(rows, protected=["race", "sex"], label="recid", prediction="high", suppress_below=10)
    assert suppressed["n"].min() >= 10 and len(suppressed) < len(table)


def test_a_dask_frame_audits_as_its_rows(live_server: str, rows: pd.DataFrame) -> None:
    frame = dd.from_pandas(rows, npartitions=8)  # type: ignore[no-untyped-call]
    with Client(live_server, timeout=60) as client, dask.config.set(scheduler="threads"):
        from_counts = client.audit(frame, label="recid", prediction="high", favorable=0, protected=[RACE, "sex"],
                                   outcome={"column": "priors", "favours": "lower"}, diagnostics=[])
        from_rows = client.audit(rows, label="recid", prediction="high", favorable=0, protected=[RACE, "sex"],
                                 outcome={"column": "priors", "favours": "lower"}, diagnostics=[])
    assert from_counts.audit.data_kind == "counts" and from_rows.audit.data_kind == "rows"
    assert from_counts.audit.rows is not None and from_counts.audit.rows < 100  # only counts were sent
    assert [(f.rule, f.group, f.status) for f in from_counts.findings] == \
        [(f.rule, f.group, f.status) for f in from_rows.findings]
    for a, b in zip(from_counts.findings, from_rows.findings, strict=True):
        assert a.value == pytest.approx(b.value, rel=1e-12, abs=1e-15)
    fpr = {g.label: g.metrics["false_positive_rate"].value for g in from_counts.groups}
    black = fpr["race=African-American"]
    assert black is not None and round(100 * black, 2) == 44.85  # ProPublica, from counts computed by Dask
    means = {str(r["group"]): r["mean"] for r in from_counts.section("outcomes").tables["groups"]}
    assert means == pytest.approx({str(r["group"]): r["mean"] for r in from_rows.section("outcomes").tables["groups"]},
                                  rel=1e-12)
