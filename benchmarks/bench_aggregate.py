"""Aggregate where the data lives: 100M rows grouped on PySpark (local mode) and Dask (local scheduler) into the
counts table, then audited by the service, against pandas doing the same on as many rows as fit.

The rows are made on each engine itself (Spark's ``rand``, numpy per Dask partition): race with 5 values, sex
with 2, a label and a prediction that leans on race, as in ``bench_audit.synthetic``. For each size the script
prints the engine's group-by time (``fairprobe_client.aggregate``), its peak memory (the Spark driver JVM; this
process for Dask and pandas), the cells sent, and the service's time to audit them (an in-process app): the
service sees a counts table whose size depends on the groups, not on the rows, so its time stays flat.

Run: ``.venv/bin/python benchmarks/bench_aggregate.py [--rows 1000000 10000000 100000000] [--pandas-rows 20000000]``
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "clients" / "python"))

from fairprobe_client import aggregate  # noqa: E402

RACES = ("White", "Black", "Hispanic", "Asian", "Other")
SHARES = (0.6, 0.15, 0.15, 0.06, 0.04)
PROTECTED = ["race", "sex"]
FIELDS = {"count": "n", "label": "y", "prediction": "pred",
          "protected": [{"attribute": "race", "reference": "White"}, {"attribute": "sex", "reference": "M"}],
          "intersections": [["race", "sex"]]}
PER_PARTITION = 5_000_000


def partition(index: int, rows: int) -> pd.DataFrame:
    """One Dask partition (also the pandas frame): numpy-made rows, seeded by the partition's index."""
    rng = np.random.default_rng(index)
    race = rng.choice(5, rows, p=SHARES)
    sex = rng.integers(0, 2, rows)
    y = rng.random(rows) < 0.3 + 0.05 * sex
    pred = rng.random(rows) < 0.25 + 0.04 * race + 0.3 * y
    return pd.DataFrame({"race": np.asarray(RACES, dtype=object)[race],
                         "sex": np.where(sex == 1, "M", "F"), "y": y.astype(np.int8), "pred": pred.astype(np.int8)})


def peak_rss(processes: Callable[[], list[psutil.Process]], fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, seconds, peak summed RSS of ``processes()`` in MiB) while ``fn`` runs."""
    peak = [0.0]
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            total = 0.0
            for process in processes():
                with contextlib.suppress(psutil.Error):  # a process that just ended
                    total += process.memory_info().rss / 2**20
            peak[0] = max(peak[0], total)
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    started = time.perf_counter()
    try:
        result = fn()
    finally:
        elapsed = time.perf_counter() - started
        done.set()
        watcher.join()
    return result, elapsed, peak[0]


class Service:
    """The service in this process (Flask's test client): the audit of a counts table, timed."""

    def __init__(self) -> None:
        from fairprobe import create_app

        self.client = create_app().test_client()

    def audit(self, table: pd.DataFrame) -> tuple[float, str]:
        body = {**FIELDS, "data": {"records": table.astype(object).to_dict("records")}}
        started = time.perf_counter()
        response = self.client.post("/v1/audits", json=body)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        return elapsed, response.get_json()["verdict"]


def spark_frame(spark: Any, rows: int) -> Any:
    from pyspark.sql import functions as sf

    u, v, w = sf.rand(1), sf.rand(2), sf.rand(3)
    race = sf.when(u < 0.6, 0).when(u < 0.75, 1).when(u < 0.9, 2).when(u < 0.96, 3).otherwise(4)
    sex = (sf.rand(4) < 0.5).cast("int")
    frame = spark.range(rows).select(race.alias("r"), sex.alias("s"), v.alias("v"), w.alias("w"))
    frame = frame.withColumn("y", (sf.col("v") < 0.3 + 0.05 * sf.col("s")).cast("int"))
    frame = frame.withColumn("pred", (sf.col("w") < 0.25 + 0.04 * sf.col("r") + 0.3 * sf.col("y")).cast("int"))
    names = sf.element_at(sf.array(*[sf.lit(r) for r in RACES]), sf.col("r") + 1)
    return frame.select(names.alias("race"), sf.when(sf.col("s") == 1, "M").otherwise("F").alias("sex"), "y", "pred")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000, 100_000_000])
    parser.add_argument("--pandas-rows", type=int, nargs="+", default=[1_000_000, 10_000_000, 20_000_000])
    parser.add_argument("--skip", choices=["spark", "dask", "pandas"], nargs="*", default=[])
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    service = Service()
    me = psutil.Process()
    print("engine  rows         group-by   peak memory   cells   service audit   verdict", flush=True)

    def report(engine: str, rows: int, table: pd.DataFrame, seconds: float, peak: float) -> None:
        audit_s, verdict = service.audit(table)
        print(f"{engine:7s} {rows:>11,}  {seconds:8.1f} s  {peak:8.0f} MiB  {len(table):6d}   {audit_s:9.3f} s   "
              f"{verdict}", flush=True)

    if "pandas" not in args.skip:
        for rows in args.pandas_rows:
            def pandas_run(n: int = rows) -> pd.DataFrame:
                return aggregate(partition(0, n), protected=PROTECTED, label="y", prediction="pred")
            table, seconds, peak = peak_rss(lambda: [me], pandas_run)
            report("pandas", rows, table, seconds, peak)
    if "dask" not in args.skip:
        import dask
        import dask.dataframe as dd

        with dask.config.set(scheduler="threads", num_workers=2):
            for rows in args.rows:
                parts = [min(PER_PARTITION, rows - start) for start in range(0, rows, PER_PARTITION)]
                frame = dd.from_map(partition, range(len(parts)), parts,  # type: ignore[no-untyped-call]
                                    meta=partition(0, 1).iloc[:0])

                def dask_run(f: Any = frame) -> pd.DataFrame:
                    return aggregate(f, protected=PROTECTED, label="y", prediction="pred")
                table, seconds, peak = peak_rss(lambda: [me], dask_run)
                report("dask", rows, table, seconds, peak)
    if "spark" not in args.skip:
        from pyspark.sql import SparkSession

        spark = (SparkSession.builder.master("local[2]").appName("fairprobe-bench")
                 .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4")
                 .config("spark.ui.showConsoleProgress", "false").config("spark.driver.memory", "2g")
                 .config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
                 .getOrCreate())
        spark.sparkContext.setLogLevel("ERROR")
        jvm = [p for p in me.children(recursive=True) if "java" in p.name()]
        try:
            for rows in args.rows:
                def spark_run(n: int = rows) -> pd.DataFrame:
                    return aggregate(spark_frame(spark, n), protected=PROTECTED, label="y", prediction="pred")
                table, seconds, peak = peak_rss(lambda: jvm, spark_run)
                report("spark", rows, table, seconds, peak)
        finally:
            spark.stop()


if __name__ == "__main__":
    main()
