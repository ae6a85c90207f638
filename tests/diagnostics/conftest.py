"""Shared data for the diagnostics tests: Adult as it is published, and a helper to post an audit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from demo.adult import read_adult
from flask.testing import FlaskClient

from tests.answers import json_of


@pytest.fixture(scope="session")
def adult(data_dir: Path) -> pd.DataFrame:
    """adult-train (32,561 people), missing values ('?') kept as missing."""
    return read_adult(data_dir / "adult" / "adult-train.csv")


def columns_of(frame: pd.DataFrame) -> dict[str, list[Any]]:
    """A frame as the request's ``columns`` member, a missing value as null."""
    clean = frame.astype(object).where(pd.notna(frame), None)  # type: ignore[call-overload]
    return {str(c): clean[c].tolist() for c in frame.columns}


def audit(client: FlaskClient, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    response = client.post("/v1/audits", json=body)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    answer: dict[str, Any] = json_of(response)
    return answer


def section(report: dict[str, Any], name: str) -> dict[str, Any]:
    found = [s for s in report["diagnostics"] if s["name"] == name]
    assert found, (name, report.get("skipped"))
    first: dict[str, Any] = found[0]
    return first
