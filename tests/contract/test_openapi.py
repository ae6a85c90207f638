"""The committed OpenAPI document is what the schemas generate; the live app honours it (schemathesis)."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from flask import Flask
from hypothesis import HealthCheck, settings
from openapi.generate import TARGET, render
from openapi_spec_validator import validate
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from fairprobe import Settings, create_app
from fairprobe.endpoints import TargetGuard
from tests.hostile import fuzz_binary_bodies


def test_committed_spec_matches_the_code() -> None:
    committed = Path(TARGET).read_text(encoding="utf-8")
    assert committed == render(), "openapi/openapi.yaml drifted: run `python openapi/generate.py` and commit it"


def committed_spec() -> dict[str, Any]:
    return dict(yaml.safe_load(Path(TARGET).read_text(encoding="utf-8")))


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method, operation


def test_spec_is_valid_openapi_31_with_problem_errors() -> None:
    spec = committed_spec()
    validate(spec)  # openapi-spec-validator: the whole document against the OpenAPI 3.1 schema
    assert spec["openapi"] == "3.1.0"
    assert set(spec["paths"]) >= {"/healthz", "/readyz", "/v1/metrics", "/v1/audits", "/v1/audits/upload"}
    assert "application/problem+json" in spec["components"]["responses"]["UNPROCESSABLE_ENTITY"]["content"]


def test_every_operation_has_an_id_and_its_security() -> None:
    spec = committed_spec()
    ids = [op.get("operationId") for _, _, op in operations(spec)]
    assert all(ids) and len(set(ids)) == len(ids), ids
    assert spec["security"] == [{"bearer": []}] and "bearer" in spec["components"]["securitySchemes"]
    for path, _, operation in operations(spec):
        if path in ("/healthz", "/readyz"):
            assert operation["security"] == [], path  # open, as the middleware leaves them
        else:
            assert "security" not in operation and "401" in operation["responses"], path


def test_the_upload_is_its_own_operation() -> None:
    spec = committed_spec()
    json_only = spec["paths"]["/v1/audits"]["post"]["requestBody"]["content"]
    upload = spec["paths"]["/v1/audits/upload"]["post"]["requestBody"]["content"]
    assert list(json_only) == ["application/json"]
    # multipart, or the file itself as the body (the fields then in the query parameter 'request')
    assert set(upload) == {"multipart/form-data", "text/csv", "application/vnd.apache.arrow.stream",
                           "application/vnd.apache.arrow.file", "application/vnd.apache.parquet",
                           "application/x-parquet"}
    upload_parameters = spec["paths"]["/v1/audits/upload"]["post"]["parameters"]
    assert {"name": "request", "in": "query"}.items() <= next(p for p in upload_parameters
                                                              if p["name"] == "request").items()
    parts = spec["components"]["schemas"]["AuditUpload"]
    assert set(parts["required"]) == {"request", "data"}


TYPESCRIPT = Path(TARGET).parent / "typescript"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed: the TypeScript check needs it")
def test_a_typescript_client_generated_from_the_spec_compiles() -> None:
    """openapi-typescript makes the types, openapi-fetch the calls; ``tsc --strict`` checks a client using
    every kind of operation (JSON body, multipart upload, path parameter, GET list)."""
    def npm(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, cwd=TYPESCRIPT, capture_output=True, text=True, timeout=600)

    if not (TYPESCRIPT / "node_modules" / ".bin" / "tsc").exists():
        installed = npm("npm", "ci", "--no-audit", "--no-fund")
        assert installed.returncode == 0, installed.stderr[-2000:]
    bin_dir = TYPESCRIPT / "node_modules" / ".bin"
    # default-non-nullable off: a request field with a default is optional to send
    generated = npm(str(bin_dir / "openapi-typescript"), str(TARGET), "-o", "schema.d.ts",
                    "--default-non-nullable", "false")
    assert generated.returncode == 0, generated.stderr[-2000:]
    checked = npm(str(bin_dir / "tsc"), "-p", "tsconfig.json")
    assert checked.returncode == 0, checked.stdout[-4000:]


def _no_dns(host: str, *_: Any, **__: Any) -> list[Any]:
    raise socket.gaierror(socket.EAI_NONAME, "the contract tests resolve no host")


def _app() -> Flask:
    """The app as shipped, except that no generated endpoint URL can reach the network."""
    app = create_app(Settings())
    app.extensions["fairprobe.guard"] = TargetGuard(resolve=_no_dns)
    return app


fuzz_binary_bodies()
schema = schemathesis.openapi.from_wsgi("/openapi.json", _app())


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_live_app_conforms_to_its_spec(case: schemathesis.Case[Any]) -> None:
    case.call_and_validate(checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                                   response_schema_conformance])
