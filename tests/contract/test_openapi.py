"""The committed OpenAPI document is what the schemas generate; the live app honours it (schemathesis)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from openapi.generate import TARGET, render
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from fairprobe import Settings, create_app
from fairprobe.endpoints import TargetGuard


def test_committed_spec_matches_the_code() -> None:
    committed = Path(TARGET).read_text(encoding="utf-8")
    assert committed == render(), "openapi/openapi.yaml drifted: run `python openapi/generate.py` and commit it"


def test_spec_is_openapi_31_with_problem_errors() -> None:
    import yaml

    spec = yaml.safe_load(Path(TARGET).read_text(encoding="utf-8"))
    assert spec["openapi"] == "3.1.0"
    assert set(spec["paths"]) >= {"/healthz", "/readyz", "/v1/metrics", "/v1/audits"}
    assert "application/problem+json" in spec["components"]["responses"]["UNPROCESSABLE_ENTITY"]["content"]


def _no_dns(host: str, *_: Any, **__: Any) -> list[Any]:
    raise socket.gaierror(socket.EAI_NONAME, "the contract tests resolve no host")


def _app() -> Flask:
    """The app as shipped, except that no generated endpoint URL can reach the network."""
    app = create_app(Settings())
    app.extensions["fairprobe.guard"] = TargetGuard(resolve=_no_dns)
    return app


schema = schemathesis.openapi.from_wsgi("/openapi.json", _app())


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_live_app_conforms_to_its_spec(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                                   response_schema_conformance])
