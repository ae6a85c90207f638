"""The compiled dump of the report schemas gives exactly what marshmallow's own dump gives, for every report."""

from __future__ import annotations

from typing import Any

import pytest
from demo.serving import serve
from flask.testing import FlaskClient
from marshmallow import Schema

from fairprobe.schemas.fast_dump import FastDumpSchema
from fairprobe.schemas.probe_report import NameBankSchema, ProbeReportSchema
from fairprobe.schemas.report import AuditReportSchema
from fairprobe.schemas.stress_report import DiscriminationReportSchema, StressReportSchema
from tests.hostile import ConstantModel, bodies


@pytest.fixture
def settings() -> Any:
    from fairprobe import Settings

    return Settings(allowed_targets=("127.0.0.1/32",))


def _reports(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> list[tuple[FastDumpSchema, Any]]:
    """Every kind of report, as the domain objects the views return (caught on their way to the schema)."""
    caught: list[tuple[FastDumpSchema, Any]] = []
    original = FastDumpSchema.dump

    def spy(self: FastDumpSchema, obj: Any, *, many: bool | None = None) -> Any:
        if type(self) in (AuditReportSchema, ProbeReportSchema, StressReportSchema, DiscriminationReportSchema,
                          NameBankSchema):
            caught.append((self, obj))
        return original(self, obj, many=many)

    monkeypatch.setattr(FastDumpSchema, "dump", spy)
    with serve(ConstantModel()) as url:
        for path, body in bodies(url).values():
            assert client.post(path, json=body).status_code == 200
        parity = bodies(url)["audit_records"][1]
        parity["policy"]["decision_rule"] = "parity"
        assert client.post("/v1/audits", json=parity).status_code == 200
        scores = {"data": {"records": [{"g": "ab"[i % 2], "y": i % 3 % 2, "s": (i % 10) / 10} for i in range(200)]},
                  "label": "y", "score": "s", "threshold": 0.5, "protected": [{"attribute": "g"}]}
        assert client.post("/v1/audits", json=scores).status_code == 200
    assert client.get("/v1/name-banks/bertrand-mullainathan-2004").status_code == 200
    return caught


def test_the_compiled_dump_equals_marshmallows(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    reports = _reports(client, monkeypatch)
    kinds = {type(schema) for schema, _ in reports}
    assert kinds == {AuditReportSchema, ProbeReportSchema, StressReportSchema, DiscriminationReportSchema,
                     NameBankSchema}
    fast = [type(schema).compiled()(report) for schema, report in reports]
    # marshmallow's own dump all the way down (nested schemas included), for reference
    monkeypatch.setattr(FastDumpSchema, "dump", Schema.dump)
    for (schema, report), ours in zip(reports, fast, strict=True):
        assert ours == type(schema)().dump(report), type(schema).__name__
