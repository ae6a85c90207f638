"""German-credit model server on loopback; the app may call loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from demo.credit import REFERENCE, CreditApp, CreditModel, read_german
from demo.serving import serve

from fairprobe import Settings


@pytest.fixture(scope="session")
def german(data_dir: Path) -> pd.DataFrame:
    return read_german(data_dir)


@pytest.fixture(scope="session")
def credit_model(german: pd.DataFrame) -> CreditModel:
    return CreditModel(german)


@pytest.fixture
def credit_app(credit_model: CreditModel) -> CreditApp:
    return CreditApp(credit_model)


@pytest.fixture
def credit_server(credit_app: CreditApp) -> Iterator[str]:
    with serve(credit_app) as url:
        yield url


@pytest.fixture(scope="session")
def reference_records(german: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in row.items()} for row in german[REFERENCE].to_dict("records")]


@pytest.fixture
def settings() -> Settings:
    return Settings(allowed_targets=("127.0.0.1/32",))
