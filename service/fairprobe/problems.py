"""Render every error as RFC 9457 ``application/problem+json`` that names the offending field."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, g, json, request
from werkzeug.exceptions import HTTPException

from fairprobe.errors import FairprobeError, FieldError

__all__ = ["flatten_messages", "init_app", "problem_response"]

PROBLEM_MIME = "application/problem+json"
TYPE_BASE = "https://fairprobe.dev/problems/"

log = logging.getLogger("fairprobe.errors")


def flatten_messages(messages: Any, prefix: str = "") -> list[FieldError]:
    """Turn marshmallow's nested error dict into ``[FieldError("protected[0].reference", ...)]``."""
    if isinstance(messages, Mapping):
        out: list[FieldError] = []
        for key, value in messages.items():
            if isinstance(key, int):
                path = f"{prefix}[{key}]"
            elif key == "_schema":
                path = prefix or "body"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            out.extend(flatten_messages(value, path))
        return out
    if isinstance(messages, list | tuple) and all(isinstance(m, str) for m in messages):
        return [FieldError(prefix or "body", m) for m in messages]
    if isinstance(messages, list | tuple):
        out = []
        for item in messages:
            out.extend(flatten_messages(item, prefix))
        return out
    return [FieldError(prefix or "body", str(messages))]


def problem_response(
    status: int, slug: str, title: str, detail: str, errors: tuple[FieldError, ...] = (),
    extensions: Mapping[str, Any] | None = None,
) -> Response:
    """Build the problem+json response; ``errors`` list each bad field; ``extensions`` add members."""
    body: dict[str, Any] = {
        "type": TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.path,
        "request_id": g.get("request_id"),
    }
    if errors:
        body["errors"] = [{"field": e.field, "message": e.message} for e in errors]
    for key, value in (extensions or {}).items():
        body.setdefault(key, value)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_MIME)
    return response


def _from_fairprobe(error: FairprobeError) -> Response:
    response = problem_response(error.status, error.slug, error.title, error.detail, error.errors, error.extensions)
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


_HTTP_SLUGS = {
    400: "invalid-request",
    401: "not-authenticated",
    404: "not-found",
    405: "method-not-allowed",
    408: "request-timeout",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-error",
}


def _from_http(error: HTTPException) -> Response:
    status = error.code or 500
    if status >= 500:
        return _internal(error)
    data = getattr(error, "data", None) or {}
    # webargs puts marshmallow messages under data["messages"], keyed by location ("json", "query", ...)
    raw = data.get("messages") or data.get("errors") or {}
    if isinstance(raw, Mapping) and len(raw) == 1 and next(iter(raw)) in {"json", "upload", "query", "form", "files"}:
        raw = next(iter(raw.values()))
    errors = tuple(flatten_messages(raw)) if raw else ()
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors[:5]) if errors else error.description or error.name
    response = problem_response(
        status, _HTTP_SLUGS.get(status, "http-error"), error.name, detail, errors
    )
    allowed = getattr(error, "valid_methods", None)
    if status == 405 and allowed:
        response.headers["Allow"] = ", ".join(allowed)
    return response


def _internal(error: BaseException) -> Response:
    # The traceback goes to the log with the request id; the client gets nothing it could leak.
    # the formatter prints the exception's type and frames, never its message (fairprobe.logs)
    log.error("unhandled error", exc_info=error,
              extra={"request_id": g.get("request_id"), "error_type": type(error).__name__})
    return problem_response(
        500, "internal-error", "Internal server error",
        "The service failed to process the request. Quote the request id when reporting it.",
    )


def init_app(app: Flask) -> None:
    """Register the problem renderers for fairprobe errors, HTTP errors and anything unexpected."""
    app.register_error_handler(FairprobeError, _from_fairprobe)
    app.register_error_handler(HTTPException, _from_http)
    app.register_error_handler(Exception, _internal)
