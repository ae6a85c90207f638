"""Synthetic profiles: drawn from a field schema, or fitted on a reference dataset; and edge cases.

Fitted generator: a Gaussian copula whose *marginals are the target group's own* (the empirical
distribution of each column among the reference rows that match the group) and whose *dependence is
pooled* (one correlation matrix of normal scores over all rows). Per-group marginals are what a stress
test compares, so they come from the group; dependence needs many rows, which small groups do not
have, so it is estimated on everyone. A group with fewer than ``min_group_rows`` matching rows borrows
the pooled marginals (its conditions still hold) and the report says so. Categorical columns enter the
copula through the distributional transform (a uniform draw within the category's CDF step).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from fairprobe.domain.slots import fill
from fairprobe.domain.stress import Condition, EdgeFamily, FieldSpec, FieldType, Generator
from fairprobe.errors import ValidationFailed

__all__ = ["CopulaSampler", "Sampler", "SchemaSampler", "condition_mask", "edge_case", "is_numeric", "sampler_for"]

Record = dict[str, Any]
#: a mechanical accent for each ASCII vowel and a few consonants: names become non-ASCII, still readable
ACCENTS = str.maketrans("aeiouncAEIOUNC", "áéíöüñçÁÉÍÖÜÑÇ")
LONG_NAME_CHARS = 300


def _py(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def condition_mask(column: pd.Series, condition: Condition) -> np.ndarray:
    """Which rows of ``column`` meet ``condition``: equal to its value, or (numbers only) in ``[low, high)``."""
    if not condition.is_range:
        return np.asarray(column == condition.value, dtype=bool)
    if not is_numeric(column):
        return np.zeros(len(column), dtype=bool)
    low = condition.low if condition.low is not None else -np.inf
    high = condition.high if condition.high is not None else np.inf
    return np.asarray(column.between(low, high, inclusive="left"), dtype=bool)


class SchemaSampler:
    """Draw each field from its declared distribution; target conditions fix or narrow fields."""

    def __init__(self, fields: Sequence[FieldSpec]) -> None:
        order = {FieldType.NAME: 1, FieldType.TEXT: 2}
        self.fields = sorted(fields, key=lambda f: order.get(f.type, 0))  # names read protected fields
        self.columns = [f.name for f in fields]

    def pooled_rows(self, where: Mapping[str, Condition]) -> int | None:
        return None

    def sample(self, where: Mapping[str, Condition] | None, n: int, rng: np.random.Generator) -> list[Record]:
        where = where or {}
        columns: dict[str, list[Any]] = {}
        for spec in self.fields:
            columns[spec.name] = self._draw(spec, where.get(spec.name), n, rng, columns)
        return [{name: columns[name][i] for name in self.columns} for i in range(n)]

    def _draw(self, spec: FieldSpec, condition: Condition | None, n: int, rng: np.random.Generator,
              done: Mapping[str, list[Any]]) -> list[Any]:
        if condition is not None and not condition.is_range:
            return [condition.value] * n
        if spec.type in (FieldType.NUMBER, FieldType.INTEGER):
            low = max(v for v in (spec.low, condition.low if condition else None) if v is not None)
            high = min(v for v in (spec.high, condition.high if condition else None) if v is not None)
            values = self._numbers(spec, low, high, n, rng)
            if spec.type is FieldType.INTEGER:
                # integers in [low, high], or [low, high) when a group's range bounds it
                open_top = condition is not None and condition.high is not None and condition.high <= high
                top = high - 1 if open_top else high
                return [int(v) for v in np.clip(np.floor(values + 0.5), np.ceil(low), np.floor(top))]
            return [float(v) for v in values]
        if spec.type is FieldType.CATEGORY:
            weights = np.asarray(spec.weights, dtype=float)
            picks = rng.choice(len(spec.categories), size=n, p=weights / weights.sum())
            return [spec.categories[i] for i in picks]
        if spec.type is FieldType.DATE:
            start, end = dt.date.fromisoformat(spec.start or ""), dt.date.fromisoformat(spec.end or "")
            days = rng.integers(0, (end - start).days + 1, size=n)
            return [(start + dt.timedelta(days=int(d))).isoformat() for d in days]
        if spec.type is FieldType.NAME:
            return [self._name(spec, {k: v[i] for k, v in done.items()}, rng) for i in range(n)]
        # text: a template over the other fields
        return [fill(spec.template or "", {k: v[i] for k, v in done.items()}) for i in range(n)]

    @staticmethod
    def _numbers(spec: FieldSpec, low: float, high: float, n: int, rng: np.random.Generator) -> np.ndarray:
        if spec.distribution == "uniform" or spec.mean is None or spec.sd is None:
            return rng.uniform(low, high, size=n)
        draw = rng.normal if spec.distribution == "normal" else rng.lognormal
        out = np.asarray(draw(spec.mean, spec.sd, size=n), dtype=float)
        for _ in range(20):  # truncate by redrawing what falls outside, then clip the rest
            outside = (out < low) | (out > high)
            if not outside.any():
                break
            out[outside] = draw(spec.mean, spec.sd, size=int(outside.sum()))
        return np.asarray(np.clip(out, low, high), dtype=float)

    @staticmethod
    def _name(spec: FieldSpec, record: Mapping[str, Any], rng: np.random.Generator) -> str:
        fitting = [g for g in spec.names if all(str(record.get(k, "")).lower() == str(v).lower()
                                                for k, v in g.attributes.items())]
        group = (fitting or list(spec.names))[int(rng.integers(len(fitting or spec.names)))]
        first = group.first_names[int(rng.integers(len(group.first_names)))].name
        last = group.last_names[int(rng.integers(len(group.last_names)))].name if group.last_names else ""
        return {"first": first, "last": last or first}.get(spec.name_part, f"{first} {last}".strip())

    def numeric_bounds(self) -> dict[str, tuple[float, float, bool]]:
        return {f.name: (float(f.low), float(f.high), f.type is FieldType.INTEGER) for f in self.fields
                if f.type in (FieldType.NUMBER, FieldType.INTEGER) and f.low is not None and f.high is not None}

    def optional_fields(self) -> list[str]:
        return [f.name for f in self.fields if f.optional]

    def rarest(self) -> dict[str, Any]:
        return {f.name: f.categories[int(np.argmin(f.weights))] for f in self.fields
                if f.type is FieldType.CATEGORY and not f.protected and len(f.categories) > 1}

    def name_fields(self) -> list[str]:
        return [f.name for f in self.fields if f.type is FieldType.NAME]


class CopulaSampler:
    """Gaussian copula fitted on a reference frame: group marginals, pooled correlation (module docstring)."""

    def __init__(self, frame: pd.DataFrame, *, min_group_rows: int, name_fields: Sequence[str] = ()) -> None:
        self.frame = frame.reset_index(drop=True)
        self.columns = list(frame.columns)
        self.min_group_rows = min_group_rows
        self._names = list(name_fields)
        self.numeric = {c: is_numeric(frame[c]) for c in self.columns}
        self.integer = {c: pd.api.types.is_integer_dtype(frame[c]) for c in self.columns}
        self.categories = {c: sorted(frame[c].dropna().unique().tolist(), key=str) for c in self.columns
                           if not self.numeric[c]}
        self.correlation = self._correlation(np.random.default_rng(0))
        self._cholesky = np.linalg.cholesky(self.correlation)

    def _scores(self, column: str, rng: np.random.Generator) -> np.ndarray:
        values = self.frame[column]
        n = len(values)
        if self.numeric[column]:
            filled = values.fillna(values.median())
            u = filled.rank(method="average").to_numpy() / (n + 1)
        else:
            cats = self.categories[column]
            codes = pd.Categorical(values, categories=cats).codes.astype(float)
            codes[codes < 0] = len(cats)  # missing: a last category of its own
            counts = np.bincount(codes.astype(int), minlength=len(cats) + 1) / n
            upper = np.cumsum(counts)
            lower = upper - counts
            c = codes.astype(int)
            u = lower[c] + rng.uniform(size=n) * counts[c]
            u = np.clip(u, 0.5 / n, 1 - 0.5 / n)
        return np.asarray(special.ndtri(u), dtype=float)

    def _correlation(self, rng: np.random.Generator) -> np.ndarray:
        z = np.column_stack([self._scores(c, rng) for c in self.columns])
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.corrcoef(z, rowvar=False) if len(self.columns) > 1 else np.ones((1, 1))
        corr = np.nan_to_num(np.atleast_2d(corr), nan=0.0)
        np.fill_diagonal(corr, 1.0)
        values, vectors = np.linalg.eigh(corr)  # nearest positive definite matrix, unit diagonal
        corr = vectors @ np.diag(np.clip(values, 1e-6, None)) @ vectors.T
        scale = np.sqrt(np.diag(corr))
        return np.asarray(corr / np.outer(scale, scale), dtype=float)

    def rows(self, where: Mapping[str, Condition] | None) -> pd.DataFrame:
        if not where:
            return self.frame
        mask = np.ones(len(self.frame), dtype=bool)
        for column, condition in where.items():
            mask &= condition_mask(self.frame[column], condition)
        return self.frame[mask]

    def pooled_rows(self, where: Mapping[str, Condition]) -> int | None:
        return len(self.rows(where))

    def sample(self, where: Mapping[str, Condition] | None, n: int, rng: np.random.Generator) -> list[Record]:
        where = where or {}
        own = self.rows(where)
        if len(own) >= self.min_group_rows:
            source = own
        else:
            # too few rows of the group: pooled marginals, narrowed by the group's range conditions
            source = self.rows({k: c for k, c in where.items() if c.is_range}) if where else self.frame
            if source.empty:
                raise ValidationFailed.on("groups", "no reference row falls in the group's ranges")
        z = rng.standard_normal((n, len(self.columns))) @ self._cholesky.T
        u = special.ndtr(z)
        out: dict[str, list[Any]] = {}
        for j, column in enumerate(self.columns):
            condition = where.get(column)
            if condition is not None and not condition.is_range:
                out[column] = [condition.value] * n
                continue
            values = source[column]
            missing = float(values.isna().mean())
            present = values.dropna()
            if self.numeric[column]:
                drawn = np.quantile(present.to_numpy(dtype=float), u[:, j], method="inverted_cdf")
                column_values: list[Any] = [int(v) if self.integer[column] else float(v) for v in drawn]
            else:
                shares = present.value_counts(normalize=True).reindex(self.categories[column], fill_value=0.0)
                cumulative = np.cumsum(shares.to_numpy())
                picks = np.minimum(np.searchsorted(cumulative, u[:, j] * cumulative[-1], side="right"),
                                   len(cumulative) - 1)
                column_values = [_py(self.categories[column][i]) for i in picks]
            if missing > 0:
                gone = rng.uniform(size=n) < missing
                column_values = [None if g else v for g, v in zip(gone, column_values, strict=True)]
            out[column] = column_values
        return [{c: out[c][i] for c in self.columns} for i in range(n)]

    def numeric_bounds(self) -> dict[str, tuple[float, float, bool]]:
        return {c: (float(self.frame[c].min()), float(self.frame[c].max()), self.integer[c])
                for c in self.columns if self.numeric[c] and self.frame[c].notna().any()}

    def optional_fields(self) -> list[str]:
        return [c for c in self.columns if self.frame[c].isna().any()]

    def rarest(self) -> dict[str, Any]:
        return {c: _py(self.frame[c].value_counts().idxmin()) for c in self.columns
                if not self.numeric[c] and c not in self._names and self.frame[c].nunique() > 1}

    def name_fields(self) -> list[str]:
        return list(self._names)


Sampler = SchemaSampler | CopulaSampler


def sampler_for(generator: Generator) -> Sampler:
    if generator.kind == "schema":
        return SchemaSampler(generator.fields)
    assert generator.reference is not None
    return CopulaSampler(generator.reference, min_group_rows=generator.min_group_rows,
                         name_fields=generator.name_fields)


def edge_case(family: EdgeFamily, sampler: Sampler, records: list[Record], fixed: set[str],
              protected: set[str]) -> tuple[list[Record], str | None]:
    """``records`` turned into the family's edge cases; ``None`` or a note saying why it does not apply.

    ``fixed`` fields (the group's conditions) and protected fields are never changed.
    """
    untouchable = fixed | protected
    if family is EdgeFamily.BOUNDARY:
        bounds = {k: v for k, v in sampler.numeric_bounds().items() if k not in untouchable}
        if not bounds:
            return records, "no numeric field with bounds"
        out = []
        for i, r in enumerate(records):
            side = i % 2  # alternate all-minimum and all-maximum profiles
            out.append({**r, **{k: (int(b[side]) if is_int else b[side]) for k, (*b, is_int) in bounds.items()}})
        return out, None
    if family is EdgeFamily.MISSING:
        optional = [f for f in sampler.optional_fields() if f not in untouchable]
        if not optional:
            return records, "no optional field"
        return [{**r, **dict.fromkeys(optional)} for r in records], None
    if family is EdgeFamily.RARE:
        rare = {k: v for k, v in sampler.rarest().items() if k not in untouchable}
        if not rare:
            return records, "no categorical field with more than one category"
        return [{**r, **rare} for r in records], None
    names = [f for f in sampler.name_fields() if f not in fixed]
    if not names:
        return records, "no name field"
    if family is EdgeFamily.LONG_NAMES:
        def long(name: Any) -> str:
            text = str(name or "Name")
            return "-".join([text] * (LONG_NAME_CHARS // (len(text) + 1) + 1))[:LONG_NAME_CHARS]
        return [{**r, **{f: long(r[f]) for f in names}} for r in records], None
    return [{**r, **{f: str(r[f] or "").translate(ACCENTS) for f in names}} for r in records], None
