"""Vectorized checks of the audited columns against their declared roles.

Each check raises ``marshmallow.ValidationError`` keyed by the request field that named the column,
so the problem response points at ``label``, ``protected[1].reference``, ``count`` and so on.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np
import pandas as pd
from marshmallow import ValidationError
from pandas.arrays import NumpyExtensionArray

from fairprobe.schemas.scalar import MAX_MAGNITUDE
from fairprobe.stats.counts import encode

__all__ = ["binary_column", "check_protected", "nonnegative_column", "numeric_column", "require_column",
           "score_column"]


def require_column(frame: pd.DataFrame, name: str, field: str) -> pd.Series:
    if name not in frame.columns:
        raise ValidationError(f"column {name!r} is not in the data", field)
    return frame[name]


def _missing(series: pd.Series) -> int:
    """How many values are missing (counted on the codes or the numbers themselves where that is exact)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return int(np.count_nonzero(series.cat.codes.to_numpy() < 0))
    if isinstance(series.array, NumpyExtensionArray):
        if series.dtype.kind in "biu":  # integers and booleans have no missing value
            return 0
        if series.dtype.kind == "f":
            return int(np.count_nonzero(np.isnan(series.to_numpy())))
    return int(series.isna().sum())


def _distinct(series: pd.Series, limit: int) -> int:
    """How many distinct values occur, exactly when more than ``limit`` may (a categorical's from its codes,
    without hashing the rows; with no more categories than ``limit``, their number is bound enough)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        if len(series.cat.categories) <= limit:
            return len(series.cat.categories)
        codes = series.cat.codes.to_numpy()
        return int(np.count_nonzero(np.bincount(codes[codes >= 0], minlength=1)))
    return int(series.nunique())


def _show(values: Any) -> str:
    return ", ".join(repr(v.item() if isinstance(v, np.generic) else v) for v in list(values)[:5])


def _equals(series: pd.Series, value: Hashable) -> np.ndarray:
    """``series == value`` as booleans (a plain numeric column compared as its numpy array: no index work)."""
    if series.dtype.kind in "biuf" and isinstance(series.array, NumpyExtensionArray) and \
            isinstance(value, int | float):  # numbers (true and false among them) against a number
        return np.asarray(series.to_numpy() == value, dtype=bool)
    return (series == value).to_numpy(dtype=bool)


def _two_adjacent_integers(series: pd.Series, positive: Hashable, negative: Hashable | None) -> bool:
    """Whether an integer column certainly holds only ``positive`` and one other value (``negative`` if it is
    declared), seen from its least and greatest values alone: 0/1 columns need no further pass."""
    if series.dtype.kind not in "iu" or not isinstance(series.array, NumpyExtensionArray) or \
            type(positive) is not int or (negative is not None and type(negative) is not int):
        return False
    values = series.to_numpy()
    low, high = int(values.min()), int(values.max())
    if high - low > 1 or positive not in (low, high):
        return False
    return negative is None or low == high or negative in (low, high)


def binary_column(series: pd.Series, field: str, positive: Hashable, negative: Hashable | None) -> np.ndarray:
    """``series == positive`` as booleans, after checking that every value is a declared one."""
    if (missing := _missing(series)):
        raise ValidationError(f"column {series.name!r} has {missing} missing values", field)
    # '1' (text) never equals 1 (number): say so instead of silently finding no positives
    values = pd.Series(series.cat.categories) if isinstance(series.dtype, pd.CategoricalDtype) else series
    if (values.dtype == object and isinstance(positive, bool | int | float)
            and values.map(lambda v: isinstance(v, str)).any()):
        raise ValidationError(
            f"column {series.name!r} holds text but the declared labels are numbers ({positive!r})", field
        )
    is_positive = _equals(series, positive)
    if _two_adjacent_integers(series, positive, negative):
        return is_positive
    # compared, not collected: the distinct other values are gathered only for an error's message
    if negative is not None:
        outside = ~is_positive & ~_equals(series, negative)
        if outside.any():
            raise ValidationError(
                f"column {series.name!r} has values outside the declared labels "
                f"({positive!r}, {negative!r}): {_show(pd.unique(series[outside]))}", field,
            )
    elif not is_positive.all():
        first = series.iloc[int(np.argmin(is_positive))]
        first = first.item() if isinstance(first, np.generic) else first
        if (~is_positive & ~_equals(series, first)).any():
            raise ValidationError(
                f"column {series.name!r} has values outside the declared labels: positive_label is {positive!r} "
                f"and the other values are {_show(pd.unique(series[~is_positive]))}; declare negative_label or "
                "binarize the column", field,
            )
    return is_positive


def numeric_column(series: pd.Series, field: str) -> np.ndarray:
    """Finite numbers, no missing value."""
    return _numeric(series, field)


def _numeric(series: pd.Series, field: str) -> np.ndarray:
    if (missing := _missing(series)):
        raise ValidationError(f"column {series.name!r} has {missing} missing values", field)
    if series.dtype == bool or not pd.api.types.is_numeric_dtype(series):
        raise ValidationError(f"column {series.name!r} must hold numbers", field)
    values = series.to_numpy(dtype=float)
    if not np.isfinite(values).all():
        raise ValidationError(f"column {series.name!r} has infinite values", field)
    return values


def score_column(series: pd.Series, field: str) -> np.ndarray:
    values = _numeric(series, field)
    if ((values < 0) | (values > 1)).any():
        raise ValidationError(f"column {series.name!r} must hold probabilities in [0, 1]", field)
    return values


def nonnegative_column(series: pd.Series, field: str, *, strictly: bool, integers: bool) -> np.ndarray:
    values = _numeric(series, field)
    if (np.abs(values) > MAX_MAGNITUDE).any():
        raise ValidationError(f"column {series.name!r} has values above {MAX_MAGNITUDE:g}", field)
    if not np.isfinite(np.square(values).sum()):
        raise ValidationError(f"column {series.name!r} adds up to more than a number can hold", field)
    if strictly and (values <= 0).any():
        raise ValidationError(f"column {series.name!r} must be greater than 0 in every row", field)
    if (values < 0).any():
        raise ValidationError(f"column {series.name!r} has negative values", field)
    if integers and (values != np.floor(values)).any():
        raise ValidationError(f"column {series.name!r} must hold whole numbers of people", field)
    return values


def check_protected(
    series: pd.Series, index: int, bins: tuple[float, ...] | None, reference: Any, named: bool, max_levels: int,
    *, field: str | None = None,
) -> None:
    """No missing values, one type, bounded cardinality, numeric when binned, the reference present.

    Errors name ``protected[index]`` unless ``field`` names another list item with the same shape."""
    field = field or f"protected[{index}]"
    if (missing := _missing(series)):
        raise ValidationError(f"column {series.name!r} has {missing} missing values", f"{field}.attribute")
    if series.dtype == object and series.map(type).nunique() > 1:
        raise ValidationError(f"column {series.name!r} mixes value types (text and numbers)", f"{field}.attribute")
    if bins is not None:
        if series.dtype == bool or not pd.api.types.is_numeric_dtype(series):
            raise ValidationError(f"column {series.name!r} must be numeric to be binned", f"{field}.bins")
        if list(bins) != sorted(set(bins)):
            raise ValidationError("bin edges must be strictly increasing", f"{field}.bins")
    elif (levels := _distinct(series, max_levels)) > max_levels:
        raise ValidationError(
            f"column {series.name!r} has {levels} distinct values, more than {max_levels}; bin it or group it",
            f"{field}.attribute",
        )
    if named:
        bands = encode(series, bins)[1] if bins is not None else None
        present = reference in bands if bands is not None else bool((series == reference).any())
        if not present:
            shown = bands if bands is not None else pd.unique(series)  # only for the message
            raise ValidationError(
                f"reference group {reference!r} does not occur in column {series.name!r} "
                f"(values: {_show(shown)})", f"{field}.reference",
            )
