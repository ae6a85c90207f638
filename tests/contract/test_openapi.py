"""The committed OpenAPI document is what the schemas generate; the live app honours it (schemathesis)."""

from __future__ import annotations

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from openapi.generate import TARGET, render
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from fairprobe import Settings, create_app


def test_committed_spec_matches_the_code() -> None:
    committed = Path(TARGET).read_text(encoding="utf-8")
    assert committed == render(), "openapi/openapi.yaml drifted: run `python openapi/generate.py` and commit it"


def test_spec_is_openapi_31_with_problem_errors() -> None:
    import yaml

    spec = yaml.safe_load(Path(TARGET).read_text(encoding="utf-8"))
    assert spec["openapi"] == "3.1.0"
    assert set(spec["paths"]) >= {"/healthz", "/readyz", "/v1/metrics", "/v1/audits"}
    assert "application/problem+json" in spec["components"]["responses"]["UNPROCESSABLE_ENTITY"]["content"]


schema = schemathesis.openapi.from_wsgi("/openapi.json", create_app(Settings()))


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_live_app_conforms_to_its_spec(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                                   response_schema_conformance])
