"""A large audit's fingerprint is read off the counts table's cells (a hash per cell, gathered by row): it
equals pandas' hash of every row, checked on frames of every column kind the cells can stand for, and the
cells stand aside (the rows are hashed) wherever a column is not a function of the cell."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from flask.testing import FlaskClient

from fairprobe.domain.audit import LABEL, PREDICTION, WEIGHT
from fairprobe.engines import audit
from fairprobe.engines.audit import RowCells, _cell_hashes, fingerprint
from fairprobe.stats.counts import encode, row_cells
from tests.answers import json_of


def _frame(rows: int, seed: int, **extra: np.ndarray) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    race = rng.choice(["Black", "White", "Hispanic", "Asian"], rows)
    frame = pd.DataFrame({
        "race": pd.Categorical(race, categories=["White", "Black", "Hispanic", "Asian", "Unused"]),
        "sex": rng.choice(["F", "M"], rows).astype(object),
        "band": rng.integers(-2, 3, rows),
        "flag": rng.random(rows) < 0.3,
        LABEL: rng.random(rows) < 0.4,
        PREDICTION: rng.random(rows) < 0.5,
        WEIGHT: np.ones(rows),
    })
    for name, values in extra.items():
        frame[name] = values
    return frame


def _cells(frame: pd.DataFrame, names: list[str]) -> RowCells:
    encoded = [encode(frame[name]) for name in names]
    cells = row_cells([c for c, _ in encoded], [lv for _, lv in encoded], frame[LABEL].to_numpy(dtype=np.int64),
                      frame[PREDICTION].to_numpy(dtype=np.int64))
    assert cells is not None
    return RowCells(cells, tuple(names), tuple(lv for _, lv in encoded))


@pytest.mark.parametrize("seed", range(4))
def test_the_fingerprint_from_cells_is_the_fingerprint_of_the_rows(seed: int) -> None:
    frame = _frame(5_000, seed)
    names = ["race", "sex", "band", "flag"]
    cells = _cells(frame, names)
    assert _cell_hashes(frame, cells) is not None  # read off the cells, not hashed row by row
    assert fingerprint(frame, cells) == fingerprint(frame)
    # the column order is part of the hash
    reordered = frame[[WEIGHT, PREDICTION, "flag", LABEL, "band", "sex", "race"]]
    assert fingerprint(reordered, cells) == fingerprint(reordered) != fingerprint(frame)


@pytest.mark.parametrize(("column", "values"), [
    ("weight varies", np.linspace(0.5, 1.5, 5_000)),
    ("a float column", np.zeros(5_000)),  # 0.0 everywhere is constant: replaced below by 0.0 and -0.0
    ("a score", np.random.default_rng(1).random(5_000)),
])
def test_a_column_that_is_not_a_function_of_the_cell_is_hashed_row_by_row(column: str, values: np.ndarray) -> None:
    frame = _frame(5_000, 0)
    if column == "weight varies":
        frame[WEIGHT] = values
    elif column == "a float column":
        values = values.copy()
        values[::2] = -0.0  # equal to 0.0, but not the same bits: pandas hashes them apart
        frame["zero"] = values
    else:
        frame["score"] = values
    cells = _cells(frame, ["race", "sex", "band", "flag"])
    assert _cell_hashes(frame, cells) is None
    assert fingerprint(frame, cells) == fingerprint(frame)


def test_a_float_protected_attribute_is_hashed_row_by_row() -> None:
    frame = _frame(5_000, 0, age=np.where(np.arange(5_000) % 2, 0.0, -0.0))
    cells = _cells(frame, ["race", "age"])
    assert _cell_hashes(frame, cells) is None
    assert fingerprint(frame, cells) == fingerprint(frame)


def test_a_large_audit_has_the_fingerprint_of_its_rows(client: FlaskClient, compas: pd.DataFrame,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Above PARALLEL_ROWS the audit reads the fingerprint off the cells; forced to hash the rows (the
    threshold raised), it answers the same fingerprint and findings."""
    rows = pd.DataFrame({"race": compas.race, "sex": compas.sex, "recid": compas.two_year_recid,
                         "high": (compas.decile_score >= 5).astype(int)})
    rows = pd.concat([rows] * 20, ignore_index=True)  # 144,000 rows
    fields = {"label": "recid", "prediction": "high", "favorable": 0,
              "protected": [{"attribute": "race", "reference": "Caucasian"}, {"attribute": "sex"}]}
    answers = []
    for parallel_rows in (100_000, 10**9):
        monkeypatch.setattr(audit, "PARALLEL_ROWS", parallel_rows)
        answer = client.post("/v1/audits/upload", data=rows.to_csv(index=False).encode(), content_type="text/csv",
                             query_string={"request": json.dumps(fields)})
        assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
        answers.append(json_of(answer))
    from_cells, from_rows = answers
    assert from_cells["audit"]["input_sha256"] == from_rows["audit"]["input_sha256"]
    assert from_cells["findings"] == from_rows["findings"]
