"""Per-request plumbing: request id, API keys, one JSON log line, request metrics.

The access log records method, path, status and timing only: never a body, a header value, a row,
a name or a credential.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
import uuid

from flask import Flask, Response, g, request

from fairprobe import logs
from fairprobe.api import docs, telemetry
from fairprobe.errors import NotAuthenticated
from fairprobe.settings import Settings

__all__ = ["init_app"]

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

access_log = logging.getLogger("fairprobe.access")


def _route_label() -> str:
    # The URL rule, not the raw path: bounded label cardinality, and no ids from the path.
    return request.url_rule.rule if request.url_rule is not None else "unmatched"


def init_app(app: Flask, settings: Settings) -> None:
    """Wire request ids, authentication, access logging and /metrics into ``app``."""
    logs.configure(settings.log_level)
    metrics = telemetry.init_app(app, settings)
    keys = tuple(k.encode() for k in settings.api_keys)

    @app.before_request
    def _start() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.started = time.perf_counter()
        if keys and not docs.is_open(request.path):
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            presented = token.strip().encode()
            # compare against every key so the time taken does not depend on which key matched
            matched = False
            for key in keys:
                matched |= hmac.compare_digest(presented, key)
            if scheme.lower() != "bearer" or not matched:
                raise NotAuthenticated("Send 'Authorization: Bearer <key>' with a key this service accepts.")

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.get("request_id", "")
        if g.get("fairprobe_verdict"):
            response.headers["X-Fairprobe-Verdict"] = g.fairprobe_verdict
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        route = _route_label()
        metrics.requests.labels(route, request.method, str(response.status_code)).inc()
        metrics.latency.labels(route, request.method).observe(elapsed)
        if response.status_code == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="fairprobe"'
        access_log.info(
            "request",
            extra={
                "request_id": g.get("request_id"),
                "method": request.method,
                "path": route,
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 2),
                "bytes_in": request.content_length or 0,
            },
        )
        return response
