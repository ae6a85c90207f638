"""Simulated segmenters and recommenders whose truth is known."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

SEGMENTS = ["premium", "standard", "basic"]


def segmenter(per_group: int, gap: float, seed: int) -> pd.DataFrame:
    """Groups A and B of ``per_group`` people; A is placed in premium with probability 0.30, B with
    ``0.30 - gap``; the rest split evenly between standard and basic."""
    rng = np.random.default_rng(seed)
    group = np.repeat(["A", "B"], per_group)
    premium = np.where(group == "A", 0.30, 0.30 - gap)
    u = rng.random(len(group))
    segment = np.where(u < premium, "premium", np.where(u < premium + (1 - premium) / 2, "standard", "basic"))
    return pd.DataFrame({"group": group, "segment": segment})


def segment_body(frame: pd.DataFrame, policy: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"data": {"columns": {c: frame[c].tolist() for c in frame.columns}},
                            "protected": [{"attribute": "group", "reference": "A"}],
                            "segment": {"column": "segment", "valuable": ["premium"]}, "diagnostics": []}
    if policy is not None:
        body["policy"] = policy
    return body


def catalogue(seed: int = 0, items: int = 300) -> pd.DataFrame:
    """Items with a category (12), a margin tier (high for about a fifth) and a provider (4)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"item": [f"i{j}" for j in range(items)],
                         "category": rng.choice([f"c{j}" for j in range(12)], items),
                         "margin": np.where(rng.random(items) < 0.2, "high", "low"),
                         "provider": rng.choice(["p1", "p2", "p3", "p4"], items, p=[0.4, 0.3, 0.2, 0.1])})


def recommender(customers: int, seed: int, *, biased: bool, k: int = 10) -> pd.DataFrame:
    """One row per (customer, position, item). Group B's lists come, when ``biased``, from three categories
    only and hold high-margin items a third as often; otherwise every list is drawn the same way."""
    rng = np.random.default_rng(seed)
    items = catalogue()
    group = rng.choice(["A", "B"], customers)
    high = (items["margin"] == "high").to_numpy()
    narrow = items["category"].isin(["c0", "c1", "c2"]).to_numpy()
    rows = []
    for c in range(customers):
        weight = np.ones(len(items))
        if biased and group[c] == "B":
            weight = np.where(narrow, 1.0, 0.0) * np.where(high, 1 / 3, 1.0)
        chosen = rng.choice(len(items), size=k, replace=False, p=weight / weight.sum())
        rows.append(pd.DataFrame({"customer": f"u{c}", "group": group[c], "position": np.arange(1, k + 1),
                                  "item": items["item"].to_numpy()[chosen]}))
    lists = pd.concat(rows, ignore_index=True)
    return lists.merge(items, on="item", how="left")


def ranking_body(frame: pd.DataFrame, **extra: Any) -> dict[str, Any]:
    return {"data": {"columns": {c: frame[c].tolist() for c in frame.columns}},
            "protected": [{"attribute": "group", "reference": "A"}],
            "ranking": {"customer": "customer", "item": "item", "position": "position", "category": "category",
                        "high_value": {"column": "margin", "values": ["high"]}, "provider": "provider",
                        **extra.pop("ranking", {})},
            "diagnostics": [], **extra}
