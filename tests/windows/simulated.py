"""A decision process watched over time windows, stable or drifting from a known window on."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def monitored(seed: int, *, drift_from: int | None, windows: int = 8, per_group: int = 1000,
              gap: float = 0.15) -> pd.DataFrame:
    """Monthly windows of ``per_group`` people in groups A and B, approved with probability 0.5; from window
    ``drift_from`` on (None: never) group B is approved with probability ``0.5 - gap``."""
    rng = np.random.default_rng(seed)
    frames = []
    for w in range(windows):
        group = np.repeat(["A", "B"], per_group)
        p = np.where((group == "B") & (drift_from is not None and w >= drift_from), 0.5 - gap, 0.5)
        frames.append(pd.DataFrame({
            "group": group, "approved": (rng.random(len(group)) < p).astype(int),
            "repaid": (rng.random(len(group)) < 0.6).astype(int),
            "date": pd.Timestamp(2024, w + 1, 1) + pd.to_timedelta(rng.integers(0, 28, len(group)), unit="D")}))
    return pd.concat(frames, ignore_index=True)


def monitored_body(frame: pd.DataFrame, **time: Any) -> dict[str, Any]:
    return {"data": {"columns": {"group": frame["group"].tolist(), "approved": frame["approved"].tolist(),
                                 "repaid": frame["repaid"].tolist(),
                                 "date": frame["date"].dt.strftime("%Y-%m-%d").tolist()}},
            "label": "repaid", "prediction": "approved", "favorable": 1,
            "protected": [{"attribute": "group", "reference": "A"}],
            "policy": {"rules": [{"metric": "statistical_parity_difference", "max_abs": 0.1}]},
            "time": {"column": "date", "window": "month", "drift": 0.05, **time}, "diagnostics": ["windows"]}


def first_flagged(report: dict[str, Any]) -> str | None:
    section = next(s for s in report["diagnostics"] if s["name"] == "windows")
    flagged: str | None = section["tables"]["first_flagged"][0]["window"]
    return flagged
