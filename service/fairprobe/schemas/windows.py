"""Time windows of an audit: which column holds each row's time, and how rows fall into windows."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from fairprobe.domain.diagnostics import TimeWindows
from fairprobe.schemas.columns import require_column
from fairprobe.schemas.scalar import Bounded

__all__ = ["MAX_WINDOWS", "TimeSchema", "time_windows"]

#: the most windows one audit compares
MAX_WINDOWS = 200
CALENDAR = ("day", "week", "month", "quarter", "year")


class TimeSchema(Schema):
    class Meta:
        unknown = RAISE

    column = fields.String(required=True, metadata={"description": "Column with each row's date or time."})
    window = fields.String(validate=validate.OneOf(CALENDAR), metadata={
        "description": "Calendar windows: day, week (ISO), month, quarter or year (default month)."})
    edges = fields.List(fields.String(), validate=validate.Length(min=1, max=MAX_WINDOWS - 1), metadata={
        "description": "Explicit window edges (dates, increasing): right-open windows between them."})
    baseline = fields.String(metadata={"description": "The window drift is measured from (default: the first)."})
    drift = Bounded(validate=validate.Range(min=0, min_inclusive=False), metadata={
        "description": "The most a finding's value may move from the baseline window's; stated, its drift "
                       "findings count towards the verdict (default 0.05, as advice)."})

    @validates_schema
    def _one_kind(self, data: dict[str, Any], **_: Any) -> None:
        if "window" in data and "edges" in data:
            raise ValidationError("give window or edges, not both", "window")


def _parse(series: pd.Series, field: str) -> pd.Series:
    """Dates and times as naive UTC timestamps; a value that is no time is refused (never guessed away)."""
    if series.isna().any():
        raise ValidationError(f"column {series.name!r} has {int(series.isna().sum())} missing times", field)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas warns when it infers a format per element
        parsed = pd.to_datetime(series.astype(str), errors="coerce", utc=True, format="mixed")
    bad = parsed.isna()
    if bad.any():
        raise ValidationError(f"{int(bad.sum())} values of column {series.name!r} are not dates or times", field)
    return parsed.dt.tz_convert(None)


def time_windows(frame: pd.DataFrame, given: dict[str, Any]) -> TimeWindows:
    """Each row's window, from calendar periods or explicit edges, checked."""
    times = _parse(require_column(frame, given["column"], "time.column"), "time.column")
    if "edges" in given:
        try:
            edges = pd.to_datetime(pd.Series(given["edges"]), utc=True).dt.tz_convert(None)
        except (ValueError, TypeError) as exc:
            raise ValidationError("every edge must be a date or time", "time.edges") from exc
        if not edges.is_monotonic_increasing or edges.duplicated().any():
            raise ValidationError("edges must be strictly increasing", "time.edges")
        band = np.searchsorted(edges.to_numpy(), times.to_numpy(), side="right")
        names = [f"< {edges.iloc[0]:%Y-%m-%d}"]
        names += [f"[{a:%Y-%m-%d}, {b:%Y-%m-%d})" for a, b in zip(edges.iloc[:-1], edges.iloc[1:], strict=True)]
        names.append(f">= {edges.iloc[-1]:%Y-%m-%d}")
        counts = np.bincount(band, minlength=len(names))
        inner = counts[1:-1]
        if (inner == 0).any():
            empty = names[1 + int(np.flatnonzero(inner == 0)[0])]
            raise ValidationError(f"window {empty} holds no rows", "time.edges")
        present = np.flatnonzero(counts)
        remap = np.full(len(names), -1, dtype=np.int64)
        remap[present] = np.arange(present.size)
        codes, labels, kind = remap[band], tuple(names[i] for i in present), "edges"
    else:
        kind = given.get("window", "month")
        period = {"day": "D", "week": "W-SUN", "month": "M", "quarter": "Q", "year": "Y"}[kind]
        periods = times.dt.to_period(period)
        order = np.sort(periods.unique())
        codes = np.searchsorted(order, periods.to_numpy()).astype(np.int64)
        labels = tuple(_label(p, kind) for p in order)
    if len(labels) > MAX_WINDOWS:
        raise ValidationError(f"the data span {len(labels)} windows; at most {MAX_WINDOWS}: choose a longer window",
                              "time.window")
    if len(labels) < 2:
        raise ValidationError("the data fall in one window: nothing to compare over time", "time.column")
    baseline = 0
    if "baseline" in given:
        if given["baseline"] not in labels:
            raise ValidationError(f"no window is called {given['baseline']!r} (windows: {list(labels[:5])})",
                                  "time.baseline")
        baseline = labels.index(given["baseline"])
    return TimeWindows(given["column"], kind, codes, labels, baseline, float(given.get("drift", 0.05)),
                       "drift" in given)


def _label(period: pd.Period, kind: str) -> str:
    if kind == "week":
        start = period.start_time
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if kind == "quarter":
        return f"{period.year}Q{period.quarter}"
    return str(period)
