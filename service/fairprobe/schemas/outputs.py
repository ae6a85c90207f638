"""The output kinds of an audit request (segments, continuous outcomes, recommendation lists): their
fields, and the checks that turn their columns into the domain's ``OutputsRequest``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from fairprobe.domain.outputs import OutcomeSpec, OutputsRequest, RankedLists, RankingSpec, SegmentSpec
from fairprobe.schemas.columns import numeric_column, require_column
from fairprobe.schemas.scalar import MAX_MAGNITUDE, Bounded, Scalar

__all__ = ["OUTPUT_FIELDS", "OutcomeSchema", "RankingSchema", "SegmentSchema", "build_outputs",
           "check_constant_within_person", "output_columns", "per_person_frame"]

#: the request fields that name an output
OUTPUT_FIELDS = ("segment", "outcome", "ranking")
#: the most segments one audit compares
MAX_SEGMENTS = 200


class SegmentSchema(Schema):
    class Meta:
        unknown = RAISE

    column = fields.String(required=True, metadata={"description": "Column with each person's segment; a missing "
                                                                   "value means no segment was assigned."})
    valuable = fields.List(Scalar(), validate=validate.Length(min=1, max=MAX_SEGMENTS), metadata={
        "description": "Segments that benefit the person (premium, offer-eligible): placement in one of them is "
                       "the audit's favorable decision, judged by disparate impact and parity as any decision."})


class OutcomeSchema(Schema):
    class Meta:
        unknown = RAISE

    column = fields.String(metadata={"description": "Column with each person's outcome (offer value, discount, "
                                                    "touchpoints, spend, click-through, score)."})
    sum = fields.String(metadata={"description": "Counts table: column with the outcome summed over the row's "
                                                 "people."})
    sum_of_squares = fields.String(metadata={"description": "Counts table: column with the squared outcome summed "
                                                            "over the row's people."})
    favours = fields.String(load_default="higher", validate=validate.OneOf(["higher", "lower", "neither"]), metadata={
        "description": "Whether a higher outcome is to the person's advantage (it sets who is 'favoured')."})

    @validates_schema
    def _one_source(self, data: dict[str, Any], **_: Any) -> None:
        rows, sums = "column" in data, ("sum" in data, "sum_of_squares" in data)
        if rows == any(sums) or (any(sums) and not all(sums)):
            raise ValidationError("give column (one row per person), or sum and sum_of_squares (a counts table)",
                                  "column")


class HighValueSchema(Schema):
    class Meta:
        unknown = RAISE

    column = fields.String(required=True, metadata={"description": "Item column marking value (margin tier, ...)"})
    values = fields.List(Scalar(), required=True, validate=validate.Length(min=1, max=1000), metadata={
        "description": "Values of that column that mark a high-value item."})


class RankingSchema(Schema):
    """A long table of recommendation lists: one row per person, position and item, with item attributes."""

    class Meta:
        unknown = RAISE

    customer = fields.String(required=True, metadata={"description": "Column identifying the person."})
    item = fields.String(required=True, metadata={"description": "Column identifying the item."})
    position = fields.String(required=True, metadata={"description": "Column with the 1-based rank in the list."})
    category = fields.String(metadata={"description": "Item column whose variety measures diversity."})
    high_value = fields.Nested(HighValueSchema, metadata={"description": "Which items are high-value."})
    provider = fields.String(metadata={"description": "Item column with the provider (brand, seller) for exposure."})
    relevance = fields.String(metadata={"description": "Item column with relevance (>= 0): providers' target "
                                                       "exposure is their share of relevance."})
    target_shares = fields.Dict(keys=fields.String(), values=Bounded(), metadata={
        "description": "Each provider's target share of exposure (they add up to 1)."})
    k = fields.Integer(strict=True, validate=validate.Range(1, 1000), metadata={
        "description": "Audit the top k of each list (default: whole lists)."})


def output_columns(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, column) of every column an output names, for the one-column-one-part check."""
    out = []
    if "segment" in data:
        out.append(("segment.column", data["segment"]["column"]))
    for key in ("column", "sum", "sum_of_squares"):
        if key in data.get("outcome", {}):
            out.append((f"outcome.{key}", data["outcome"][key]))
    for key in ("customer", "item", "position", "category", "provider", "relevance"):
        if key in data.get("ranking", {}):
            out.append((f"ranking.{key}", data["ranking"][key]))
    if "high_value" in data.get("ranking", {}):
        out.append(("ranking.high_value.column", data["ranking"]["high_value"]["column"]))
    return out


def per_person_frame(frame: pd.DataFrame, data: dict[str, Any],
                     describing: list[tuple[str, str]]) -> tuple[pd.DataFrame, RankedLists]:
    """The long table of lists as one row per person (the columns that describe the person must not vary
    within a person) and the lists as arrays."""
    spec = data["ranking"]
    customer = require_column(frame, spec["customer"], "ranking.customer")
    if customer.isna().any():
        raise ValidationError("every row needs a person", "ranking.customer")
    position = numeric_column(require_column(frame, spec["position"], "ranking.position"), "ranking.position")
    if (position < 1).any() or (position != np.floor(position)).any():
        raise ValidationError("positions are whole numbers from 1", "ranking.position")
    item_series = require_column(frame, spec["item"], "ranking.item")
    if item_series.isna().any():
        raise ValidationError("every row needs an item", "ranking.item")
    person, _ = pd.factorize(customer, sort=False)
    order = np.lexsort((position, person))
    frame, person, position = frame.iloc[order].reset_index(drop=True), person[order], position[order]
    if (np.diff(person) == 0).any() and ((np.diff(person) == 0) & (np.diff(position) == 0)).any():
        raise ValidationError("a person's list holds two items at one position", "ranking.position")
    check_constant_within_person(frame, person, describing)
    if "k" in spec:
        keep = _rank_within(person) < spec["k"]
        frame, person, position = frame.loc[keep].reset_index(drop=True), person[keep], position[keep]
    item, items = pd.factorize(frame[spec["item"]])
    lists = RankedLists(
        person=person.astype(np.int64), position=position, item=item.astype(np.int64), item_levels=len(items),
        category=None, category_levels=(), high_value=None, provider=None, provider_levels=(), relevance=None)
    category, category_levels = _item_codes(frame, spec.get("category"), "ranking.category")
    provider, provider_levels = _item_codes(frame, spec.get("provider"), "ranking.provider")
    high_value = None
    if "high_value" in spec:
        column = require_column(frame, spec["high_value"]["column"], "ranking.high_value.column")
        if column.isna().any():
            raise ValidationError(f"{int(column.isna().sum())} listed items have no value", "ranking.high_value.column")
        high_value = column.isin(spec["high_value"]["values"]).to_numpy()
    relevance = None
    if "relevance" in spec:
        relevance = numeric_column(require_column(frame, spec["relevance"], "ranking.relevance"), "ranking.relevance")
        if (relevance < 0).any() or (relevance > MAX_MAGNITUDE).any():
            raise ValidationError(f"relevance lies in [0, {MAX_MAGNITUDE:g}]", "ranking.relevance")
    if spec.get("target_shares"):
        _check_shares(spec["target_shares"], provider_levels)
    lists = RankedLists(lists.person, lists.position, lists.item, lists.item_levels, category, category_levels,
                        high_value, provider, provider_levels, relevance)
    first = np.flatnonzero(np.r_[True, np.diff(person) != 0])
    person_frame = frame.iloc[first].reset_index(drop=True)
    return person_frame, lists


def check_constant_within_person(frame: pd.DataFrame, person: np.ndarray, names: list[tuple[str, str]]) -> None:
    """The columns that describe a person (protected attributes, label, ...) hold one value per person."""
    for field, name in names:
        if name not in frame.columns:
            continue
        codes = pd.factorize(frame[name])[0]
        first = np.r_[True, np.diff(person) != 0]
        starts = np.maximum.accumulate(np.where(first, np.arange(len(person)), 0))
        if (codes != codes[starts]).any():
            raise ValidationError(f"column {name!r} changes within one person's list; it must describe the person",
                                  field)


def _rank_within(person: np.ndarray) -> np.ndarray:
    first = np.r_[True, np.diff(person) != 0]
    starts = np.maximum.accumulate(np.where(first, np.arange(len(person)), 0))
    return np.arange(len(person)) - starts


def _item_codes(frame: pd.DataFrame, name: str | None, field: str) -> tuple[np.ndarray | None, tuple[Any, ...]]:
    if name is None:
        return None, ()
    column = require_column(frame, name, field)
    if column.isna().any():
        raise ValidationError(f"{int(column.isna().sum())} listed items have no {name!r}", field)
    codes, levels = pd.factorize(column, sort=True)
    return codes.astype(np.int64), tuple(v.item() if isinstance(v, np.generic) else v for v in levels)


def _check_shares(shares: dict[str, float], levels: tuple[Any, ...]) -> None:
    if any(not 0 < v <= 1 for v in shares.values()) or abs(sum(shares.values()) - 1) > 1e-6:
        raise ValidationError("target shares lie in (0, 1] and add up to 1", "ranking.target_shares")
    missing = [level for level in levels if str(level) not in shares]
    if missing:
        raise ValidationError(f"providers without a target share: {missing[:5]!r}", "ranking.target_shares")


def build_outputs(frame: pd.DataFrame, data: dict[str, Any], counts: np.ndarray | None,
                  lists: RankedLists | None) -> OutputsRequest:
    """The outputs a request names, checked: ``counts`` are a counts table's people per row (else None)."""
    segment_spec = segment = None
    if "segment" in data:
        segment_spec, segment = _segment(frame, data["segment"])
    outcome_spec = outcome = outcome_sum = outcome_sum_sq = None
    if "outcome" in data:
        given = data["outcome"]
        favours = {"higher": True, "lower": False, "neither": None}[given["favours"]]
        if counts is None:
            if "column" not in given:
                raise ValidationError("one row per person: name the outcome's column", "outcome.column")
            outcome = _bounded(require_column(frame, given["column"], "outcome.column"), "outcome.column")
        else:
            if "sum" not in given:
                raise ValidationError("a counts table gives the outcome as per-row sum and sum_of_squares",
                                      "outcome.sum")
            outcome_sum = _bounded(require_column(frame, given["sum"], "outcome.sum"), "outcome.sum")
            outcome_sum_sq = _bounded(require_column(frame, given["sum_of_squares"], "outcome.sum_of_squares"),
                                      "outcome.sum_of_squares")
            # Cauchy-Schwarz: n * sum(x^2) >= (sum x)^2 for any n values; a count of 0 holds no sum
            if ((counts * outcome_sum_sq) < outcome_sum**2 * (1 - 1e-9) - 1e-9).any() or (outcome_sum_sq < 0).any():
                raise ValidationError("a row's sum of squares is smaller than its sum allows", "outcome.sum_of_squares")
        outcome_spec = OutcomeSpec(given.get("column"), given.get("sum"), given.get("sum_of_squares"), favours)
    ranking_spec = None
    if "ranking" in data:
        r = data["ranking"]
        ranking_spec = RankingSpec(
            r["customer"], r["item"], r["position"], r.get("category"), r.get("high_value", {}).get("column"),
            tuple(r.get("high_value", {}).get("values", ())), r.get("provider"), r.get("relevance"),
            dict(r.get("target_shares") or {}), r.get("k"))
    return OutputsRequest(segment_spec, segment, outcome_spec, outcome, outcome_sum, outcome_sum_sq, ranking_spec,
                          lists)


def _bounded(series: pd.Series, field: str) -> np.ndarray:
    values = numeric_column(series, field)
    if (np.abs(values) > MAX_MAGNITUDE).any():
        raise ValidationError(f"column {series.name!r} has values beyond ±{MAX_MAGNITUDE:g}", field)
    return values


def _segment(frame: pd.DataFrame, given: dict[str, Any]) -> tuple[SegmentSpec, np.ndarray]:
    series = require_column(frame, given["column"], "segment.column")
    if series.dtype == object and series.dropna().map(type).nunique() > 1:
        raise ValidationError(f"column {series.name!r} mixes value types (text and numbers)", "segment.column")
    codes, levels = pd.factorize(series, sort=True)
    if len(levels) < 2:
        raise ValidationError(f"column {series.name!r} holds {len(levels)} segment(s): nothing to compare",
                              "segment.column")
    if len(levels) > MAX_SEGMENTS:
        raise ValidationError(f"column {series.name!r} holds {len(levels)} segments; at most {MAX_SEGMENTS}",
                              "segment.column")
    plain = tuple(v.item() if isinstance(v, np.generic) else v for v in levels)
    valuable = tuple(given.get("valuable", ()))
    unknown = [v for v in valuable if v not in plain]
    if unknown:
        raise ValidationError(f"valuable segments that do not occur in column {series.name!r}: {unknown[:5]!r}",
                              "segment.valuable")
    if len(set(valuable)) == len(plain):
        raise ValidationError("every segment is valuable: placement compares nothing", "segment.valuable")
    return SegmentSpec(given["column"], plain, valuable), codes.astype(np.int64)
