"""Fixtures follow the seams: settings -> app -> client; real data from ../shared/data."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from demo.serving import serve
from flask import Flask
from flask.testing import FlaskClient

from fairprobe import Settings, create_app

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FAIRPROBE_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    assert DATA.is_dir(), f"shared data not found at {DATA}; set FAIRPROBE_SHARED_DATA"
    return DATA


@pytest.fixture(scope="session")
def compas(data_dir: Path) -> pd.DataFrame:
    return pd.read_csv(data_dir / "compas" / "compas-scores-two-years.csv")


@pytest.fixture
def settings() -> Settings:
    return Settings()


@pytest.fixture
def app(settings: Settings) -> Flask:
    return create_app(settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The real app on a loopback port, served by werkzeug in a thread for the test's duration."""
    with serve(app) as url:
        yield url


@pytest.fixture(scope="module")
def client_module() -> FlaskClient:
    """One app for a module whose tests read one shared report."""
    return create_app(Settings()).test_client()
