"""Aggregate where the data lives: a pandas, Dask or PySpark DataFrame becomes the counts table the service
audits (``"count": "n"``), with the group-by computed on that engine, so only counts leave the warehouse.

One row per observed combination of the protected columns, the label and the prediction, with the number of
people ``n``; with an outcome, its per-cell sum and sum of squares (``<outcome>_sum``,
``<outcome>_sum_of_squares``), which the service turns into exactly the means, intervals and tests it computes
from rows. ``suppress_below`` drops cells of fewer people before anything is sent (a disclosure control: the
audit then describes the remaining people only).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

__all__ = ["aggregate", "engine_of"]

COUNT = "n"


def engine_of(frame: Any) -> str:
    """``pandas``, ``dask`` or ``spark`` by the frame's type (without importing the engines)."""
    if isinstance(frame, pd.DataFrame):
        return "pandas"
    module = type(frame).__module__
    if module.startswith("dask"):
        return "dask"
    if module.startswith("pyspark"):
        return "spark"
    raise TypeError(f"cannot aggregate a {type(frame).__name__}: give a pandas, Dask or PySpark DataFrame")


def aggregate(frame: Any, *, protected: Sequence[str], label: str | None = None, prediction: str | None = None,
              segment: str | None = None, outcome: str | None = None, suppress_below: int | None = None
              ) -> pd.DataFrame:
    """The counts table of ``frame`` over the named columns (computed by ``frame``'s own engine)."""
    keys = list(dict.fromkeys(c for c in (*protected, label, prediction, segment) if c is not None))
    engine = engine_of(frame)
    if engine == "spark":
        from pyspark.sql import functions as sf  # type: ignore[import-not-found, unused-ignore]

        aggregates = [sf.count(sf.lit(1)).alias(COUNT)]
        if outcome is not None:
            aggregates += [sf.sum(sf.col(outcome).cast("double")).alias(f"{outcome}_sum"),
                           sf.sum(sf.col(outcome).cast("double") * sf.col(outcome).cast("double")).alias(
                               f"{outcome}_sum_of_squares")]
        table = frame.groupBy(*keys).agg(*aggregates).toPandas()
    else:
        selected = frame[[*keys, *([outcome] if outcome is not None else [])]]
        if outcome is not None:
            selected = selected.assign(**{f"{outcome}_sum": selected[outcome].astype(float),
                                          f"{outcome}_sum_of_squares": selected[outcome].astype(float) ** 2})
        grouped = selected.groupby(keys, dropna=False, observed=True)
        sums = {COUNT: (keys[0], "size")}
        if outcome is not None:
            sums.update({f"{outcome}_sum": (f"{outcome}_sum", "sum"),
                         f"{outcome}_sum_of_squares": (f"{outcome}_sum_of_squares", "sum")})
        table = grouped.agg(**sums)
        if engine == "dask":
            table = table.compute()
        table = table.reset_index()
    if suppress_below is not None:
        table = table[table[COUNT] >= suppress_below]
    out: pd.DataFrame = table.reset_index(drop=True)
    return out
