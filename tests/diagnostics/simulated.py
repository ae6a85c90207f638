"""Simulated people whose truth is known: what the scan and the conditional section must find, or not find."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def intersectional(n: int, seed: int, gap: float) -> pd.DataFrame:
    """Race and sex alone are fair; one intersection with a non-protected feature is not.

    Decisions are favourable with probability 0.5, except that people with race=B in region=north get
    ``0.5 - gap`` and people with race=B in region=south ``0.5 + gap``: equal halves, so race=B's rate, and
    every marginal, stays 0.5 in expectation. ``gap=0`` is fair everywhere.
    """
    rng = np.random.default_rng(seed)
    race = rng.choice(["A", "B"], size=n)
    sex = rng.choice(["F", "M"], size=n)
    region = rng.choice(["north", "south"], size=n)
    channel = rng.choice(["web", "store", "phone"], size=n)
    p = np.full(n, 0.5)
    p[(race == "B") & (region == "north")] -= gap
    p[(race == "B") & (region == "south")] += gap
    approved = (rng.random(n) < p).astype(int)
    label = (rng.random(n) < 0.5).astype(int)
    return pd.DataFrame({"race": race, "sex": sex, "region": region, "channel": channel,
                         "age": rng.integers(18, 80, size=n), "approved": approved, "repaid": label})


def scan_body(frame: pd.DataFrame, **extra: Any) -> dict[str, Any]:
    return {"data": {"columns": {c: frame[c].tolist() for c in frame.columns}}, "label": "repaid",
            "prediction": "approved", "protected": [{"attribute": "race"}, {"attribute": "sex"}],
            "features": ["region", "channel", "age"], "diagnostics": ["subgroups"], **extra}


def explained_by_stratum(n: int, seed: int) -> pd.DataFrame:
    """A gap fully explained by a legitimate factor: within each risk band both groups are approved at the same
    rate, but group B sits mostly in the high-risk band, so B's marginal approval rate is far lower."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["A", "B"], size=n)
    high_risk = rng.random(n) < np.where(group == "B", 0.8, 0.2)
    p = np.where(high_risk, 0.3, 0.8)
    approved = (rng.random(n) < p).astype(int)
    return pd.DataFrame({"group": group, "risk_band": np.where(high_risk, "high", "low"), "approved": approved,
                         "repaid": (rng.random(n) < 0.7).astype(int)})
