"""Model servers on loopback, started and stopped by the fixtures; an app that may call loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from demo.adult import AdultModel, ModelApp, base_profiles, train_models
from demo.serving import serve

from fairprobe import Settings
from tests.model_servers import FaultApp

LOOPBACK = ("127.0.0.1/32",)


@pytest.fixture(scope="session")
def models(data_dir: Path) -> tuple[AdultModel, AdultModel]:
    return train_models(data_dir)


@pytest.fixture(scope="session")
def fair_model(models: tuple[AdultModel, AdultModel]) -> AdultModel:
    return models[0]


@pytest.fixture(scope="session")
def biased_model(models: tuple[AdultModel, AdultModel]) -> AdultModel:
    return models[1]


@pytest.fixture
def fair_app(fair_model: AdultModel) -> ModelApp:
    return ModelApp(fair_model)


@pytest.fixture
def biased_app(biased_model: AdultModel) -> ModelApp:
    return ModelApp(biased_model)


@pytest.fixture
def fair_server(fair_app: ModelApp) -> Iterator[str]:
    with serve(fair_app) as url:
        yield url


@pytest.fixture
def biased_server(biased_app: ModelApp) -> Iterator[str]:
    with serve(biased_app) as url:
        yield url


@pytest.fixture
def fault_app() -> FaultApp:
    return FaultApp()


@pytest.fixture
def fault_server(fault_app: FaultApp) -> Iterator[str]:
    with serve(fault_app) as url:
        yield url


@pytest.fixture(scope="session")
def profiles(data_dir: Path) -> list[dict[str, Any]]:
    return base_profiles(data_dir, 40)


@pytest.fixture(scope="session")
def many_profiles(data_dir: Path) -> list[dict[str, Any]]:
    """Enough profiles for a flip rate of 0 to show a 1% bound is met: 0 of n needs 0.99**n < 0.05, n >= 299."""
    return base_profiles(data_dir, 320, seed=2)


@pytest.fixture
def settings() -> Settings:
    """Loopback opened for the fixtures' model servers, as an operator would open an internal host."""
    return Settings(allowed_targets=LOOPBACK)
