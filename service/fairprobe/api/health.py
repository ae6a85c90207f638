"""Liveness and readiness."""

from __future__ import annotations

from marshmallow import Schema, fields

from fairprobe.api.parser import Blueprint

__all__ = ["blp"]

blp = Blueprint("health", __name__, description="Liveness and readiness probes")


class HealthSchema(Schema):
    status = fields.String()


@blp.route("/healthz", methods=["GET"])
@blp.response(200, HealthSchema)
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@blp.route("/readyz", methods=["GET"])
@blp.response(200, HealthSchema)
def readyz() -> dict[str, str]:
    """The service can take audits (its engines are imported and wired)."""
    return {"status": "ready"}
