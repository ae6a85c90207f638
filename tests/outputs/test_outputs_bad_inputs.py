"""Every malformed segment, outcome or ranking request is a 422 problem naming the field; nothing reaches a 500."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.answers import json_of

SEGMENTS: dict[str, Any] = {
    "data": {"records": [{"g": g, "seg": s, "offer": o, "n": 4, "s": 4 * o, "ss": 4 * o * o}
                         for g, s, o in [("a", "gold", 10.0), ("b", "gold", 12.0), ("a", "basic", 3.0),
                                         ("b", "basic", 2.5), ("a", "silver", 5.0), ("b", "silver", 6.0)]]},
    "protected": [{"attribute": "g", "reference": "a"}],
    "segment": {"column": "seg", "valuable": ["gold"]},
    "outcome": {"column": "offer"},
}
LISTS: dict[str, Any] = {
    "data": {"records": [{"who": w, "g": g, "pos": p, "item": i, "cat": c, "tier": t, "seller": v, "rel": 1.0}
                         for w, g, p, i, c, t, v in [
                             ("u1", "a", 1, "x", "k1", "hi", "P"), ("u1", "a", 2, "y", "k2", "lo", "Q"),
                             ("u2", "b", 1, "y", "k2", "lo", "Q"), ("u2", "b", 2, "z", "k1", "hi", "P")]]},
    "protected": [{"attribute": "g", "reference": "a"}],
    "ranking": {"customer": "who", "item": "item", "position": "pos", "category": "cat",
                "high_value": {"column": "tier", "values": ["hi"]}, "provider": "seller"},
}


def _records(base: dict[str, Any], change: Any) -> dict[str, Any]:
    return {"records": [{**r, **change(i, r)} for i, r in enumerate(base["data"]["records"])]}


CASES: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    ("a segment column with one value", SEGMENTS,
     {"data": _records(SEGMENTS, lambda i, r: {"seg": "gold"}), "segment": {"column": "seg"}}, "segment.column"),
    ("a valuable segment that never occurs", SEGMENTS, {"segment": {"column": "seg", "valuable": ["platinum"]}},
     "segment.valuable"),
    ("every segment valuable", SEGMENTS, {"segment": {"column": "seg", "valuable": ["gold", "silver", "basic"]}},
     "segment.valuable"),
    ("a prediction beside valuable segments", SEGMENTS, {"prediction": "offer"}, "prediction"),
    ("an unknown segment column", SEGMENTS, {"segment": {"column": "nope"}}, "segment.column"),
    ("the segment is the protected column", SEGMENTS, {"segment": {"column": "g"}}, "segment.column"),
    ("an unknown key in the segment", SEGMENTS, {"segment": {"column": "seg", "colour": "red"}}, "segment.colour"),
    ("a text outcome", SEGMENTS, {"outcome": {"column": "seg"}}, "outcome.column"),
    ("an outcome beyond every bound", SEGMENTS, {"data": _records(SEGMENTS, lambda i, r: {"offer": 1e300})},
     "outcome.column"),
    ("an outcome both as a column and as sums", SEGMENTS, {"outcome": {"column": "offer", "sum": "s",
                                                                       "sum_of_squares": "ss"}}, "outcome.column"),
    ("a sum without its squares", SEGMENTS, {"outcome": {"sum": "s"}}, "outcome.column"),
    ("a counts table with a per-person outcome", SEGMENTS, {"count": "n"}, "outcome.sum"),
    ("sums of squares too small for the sums", SEGMENTS,
     {"count": "n", "outcome": {"sum": "s", "sum_of_squares": "offer"}}, "outcome.sum_of_squares"),
    ("an unknown direction", SEGMENTS, {"outcome": {"column": "offer", "favours": "sideways"}}, "outcome.favours"),
    ("an outcome rule with the wrong bound", SEGMENTS,
     {"policy": {"rules": [{"metric": "outcome_mean", "min": 0.9}]}}, "policy.rules[0].min"),
    ("a rule on an output the audit does not name", SEGMENTS,
     {"policy": {"rules": [{"metric": "high_value_exposure_ratio", "min": 0.8}]}}, "policy.rules[0].metric"),
    ("a label metric without a label", SEGMENTS,
     {"policy": {"rules": [{"metric": "equal_opportunity_difference", "max_abs": 0.1}]}}, "policy.rules[0].metric"),
    ("no label and no output", SEGMENTS, {"segment": None, "outcome": None, "prediction": "offer"}, "label"),
    ("an item without its category", LISTS,
     {"data": _records(LISTS, lambda i, r: {"cat": None if i == 1 else r["cat"]})}, "ranking.category"),
    ("negative relevance", LISTS, {"data": _records(LISTS, lambda i, r: {"rel": -1.0}),
                                   "ranking": {**LISTS["ranking"], "relevance": "rel"}}, "ranking.relevance"),
    ("a person in two groups", LISTS, {"data": _records(LISTS, lambda i, r: {"g": "b" if i == 1 else r["g"]})},
     "protected[0].attribute"),
    ("two items at one position", LISTS, {"data": _records(LISTS, lambda i, r: {"pos": 1})}, "ranking.position"),
    ("a position of zero", LISTS, {"data": _records(LISTS, lambda i, r: {"pos": r["pos"] - 1})}, "ranking.position"),
    ("a ranking as a counts table", LISTS, {"count": "rel"}, "count"),
    ("target shares leaving a provider out", LISTS, {"ranking": {**LISTS["ranking"], "target_shares": {"P": 1.0}}},
     "ranking.target_shares"),
    ("target shares not adding up", LISTS,
     {"ranking": {**LISTS["ranking"], "target_shares": {"P": 0.5, "Q": 0.2}}}, "ranking.target_shares"),
    ("an unknown item column", LISTS, {"ranking": {**LISTS["ranking"], "item": "nope"}}, "ranking.item"),
    ("k of zero", LISTS, {"ranking": {**LISTS["ranking"], "k": 0}}, "ranking.k"),
]


@pytest.mark.parametrize(("base", "changes", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_output_input_is_a_problem_naming_the_field(client: FlaskClient, base: dict[str, Any],
                                                        changes: dict[str, Any], field: str) -> None:
    body = {k: v for k, v in {**base, **changes}.items() if v is not None}
    response = client.post("/v1/audits", json=body)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    fields = [e["field"] for e in json_of(response).get("errors", [])]
    assert field in fields, fields


@pytest.mark.parametrize("base", [SEGMENTS, LISTS], ids=["segments and outcome", "ranking"])
def test_the_well_formed_bases_are_accepted(client: FlaskClient, base: dict[str, Any]) -> None:
    response = client.post("/v1/audits", json=base)
    assert response.status_code == 200, response.get_data(as_text=True)
