"""Liveness and readiness."""

from __future__ import annotations

import threading
import time
from typing import Any

from flask import current_app
from marshmallow import Schema, fields

from fairprobe.api.parser import Blueprint
from fairprobe.engines.audit import DatasetAudit
from fairprobe.errors import FairprobeError
from fairprobe.schemas.audit import AuditRequestSchema

__all__ = ["blp"]

blp = Blueprint("health", __name__, description="Liveness and readiness probes")

#: a readiness check runs a real audit at most this often per worker; in between it answers from the last one
READY_CACHE_S = 5.0
#: 40 people in two groups of a fair model: the smallest audit that exercises the schema, AIF360 and the rule
_PROBE_AUDIT: dict[str, Any] = {
    "data": {"columns": {"g": ["a"] * 20 + ["b"] * 20, "y": [0, 1] * 20, "p": [0, 1, 1, 0] * 10}},
    "label": "y", "prediction": "p", "favorable": 1, "protected": [{"attribute": "g"}],
    "policy": {"rules": [{"metric": "disparate_impact", "min": 0.8}], "min_group_size": 10},
}


class NotReady(FairprobeError):
    status = 503
    slug = "not-ready"
    title = "The service cannot take audits yet"
    retry_after = 5


class _Readiness:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._checked_at = -READY_CACHE_S

    def check(self) -> None:
        """Run a tiny audit through the schema and the engine (AIF360 included) unless one just passed."""
        with self._lock:
            if time.monotonic() - self._checked_at < READY_CACHE_S:
                return
        try:
            report = DatasetAudit(request_id="readiness").run(AuditRequestSchema().load(_PROBE_AUDIT))
            assert report.findings and report.findings[0].value is not None
        except Exception as exc:
            raise NotReady("The readiness audit failed; see the log for its error type.") from exc
        with self._lock:
            self._checked_at = time.monotonic()


def _readiness() -> _Readiness:
    """This app's readiness memo (per app, so tests' apps do not share it)."""
    return current_app.extensions.setdefault("fairprobe.readiness", _Readiness())  # type: ignore[no-any-return]


class HealthSchema(Schema):
    status = fields.String()


@blp.route("/healthz", methods=["GET"])
@blp.response(200, HealthSchema)
@blp.doc(security=[])
def check_health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@blp.route("/readyz", methods=["GET"])
@blp.response(200, HealthSchema)
@blp.alt_response(503, response="SERVICE_UNAVAILABLE")
@blp.doc(security=[])
def check_readiness() -> dict[str, str]:
    """The service can take audits: a tiny audit runs through the schema, AIF360 and the decision rule."""
    _readiness().check()
    return {"status": "ready"}
