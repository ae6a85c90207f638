"""Benjamini–Hochberg adjustment across the findings of one audit."""

from __future__ import annotations

import numpy as np
from statsmodels.stats.multitest import multipletests

__all__ = ["benjamini_hochberg"]


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """BH-adjusted p-values; NaN entries (no test) stay NaN and do not count as hypotheses."""
    p_values = np.asarray(p_values, dtype=float)
    adjusted = np.full(p_values.shape, np.nan)
    tested = np.isfinite(p_values)
    if tested.any():
        adjusted[tested] = multipletests(p_values[tested], method="fdr_bh")[1]
    return adjusted
