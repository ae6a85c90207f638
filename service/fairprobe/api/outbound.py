"""Turn a request's endpoint spec into a scorer: the SSRF guard checks the URL before any packet."""

from __future__ import annotations

from flask import Flask, current_app, g

from fairprobe.api import telemetry
from fairprobe.domain.endpoint import EndpointSpec
from fairprobe.endpoints import EndpointClient, TargetGuard
from fairprobe.settings import Settings

__all__ = ["init_app", "scorer_for"]

GUARD = "fairprobe.guard"


def init_app(app: Flask, settings: Settings) -> None:
    app.extensions[GUARD] = TargetGuard(settings.allowed_targets)


def scorer_for(spec: EndpointSpec, *, seed: int, field: str = "endpoint.url") -> EndpointClient:
    """A client for ``spec``; raises ``TargetRefused`` (422, naming the rule) for a forbidden URL."""
    settings: Settings = current_app.extensions["fairprobe.settings"]
    target = current_app.extensions[GUARD].check(spec.url, field)
    return EndpointClient(spec, target, max_response_bytes=settings.max_response_bytes, seed=seed,
                          request_id=g.get("request_id"), on_call=telemetry.current().model_call)
