"""PySpark in local mode (two cores, no UI) on the real COMPAS data: the counts table its own group-by
computes equals a pandas count, and the audit of a Spark frame equals the audit of its rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from fairprobe_client import Client, aggregate

RACE = {"attribute": "race", "reference": "Caucasian"}


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("fairprobe-tests")
               .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4")
               .config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def rows(data_dir: Path) -> pd.DataFrame:
    compas = pd.read_csv(data_dir / "compas" / "compas-scores-two-years.csv")
    return pd.DataFrame({"race": compas.race, "sex": compas.sex, "recid": compas.two_year_recid,
                         "high": (compas.decile_score >= 5).astype(int), "priors": compas.priors_count})


def test_spark_counts_equal_a_pandas_count(spark: Any, rows: pd.DataFrame) -> None:
    table = aggregate(spark.createDataFrame(rows), protected=["race", "sex"], label="recid", prediction="high",
                      outcome="priors")
    expected = rows.groupby(["race", "sex", "recid", "high"]).agg(people=("priors", "size"), s=("priors", "sum"),
                                                                  ss=("priors", lambda v: float((v**2).sum())))
    merged = table.merge(expected.reset_index(), on=["race", "sex", "recid", "high"])
    assert len(merged) == len(expected) == len(table)
    assert (merged["n"] == merged["people"]).all()
    assert (merged["priors_sum"] == merged["s"]).all() and (merged["priors_sum_of_squares"] == merged["ss"]).all()


def test_a_spark_frame_audits_as_its_rows(live_server: str, spark: Any, rows: pd.DataFrame) -> None:
    with Client(live_server, timeout=60) as client:
        from_spark = client.audit(spark.createDataFrame(rows), label="recid", prediction="high", favorable=0,
                                  protected=[RACE, "sex"], diagnostics=[])
        from_rows = client.audit(rows, label="recid", prediction="high", favorable=0, protected=[RACE, "sex"],
                                 diagnostics=[])
    assert from_spark.audit.data_kind == "counts" and from_spark.verdict == from_rows.verdict
    assert [(f.rule, f.group, f.status, f.value) for f in from_spark.findings] == \
        [(f.rule, f.group, f.status, f.value) for f in from_rows.findings]
