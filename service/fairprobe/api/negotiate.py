"""What form an answer takes: the report as JSON (default), or as a self-contained HTML page.

A caller asks for HTML with ``?format=html`` or an ``Accept`` header that prefers ``text/html`` to JSON.
Either way the verdict also travels in the ``X-Fairprobe-Verdict`` header, so a gate can read it from any
answer (the CLI does, when it saves an HTML report).
"""

from __future__ import annotations

from typing import Any, TypeVar

from flask import Flask, Response, g, request
from marshmallow import Schema

from fairprobe.errors import FieldError, InvalidRequest
from fairprobe.report.html import Kind, render

__all__ = ["HTML", "HTML_DOC", "answer", "init_app", "wants_html"]

HTML = "text/html"
R = TypeVar("R")

#: the OpenAPI description of the HTML alternative, for ``@blp.doc(**HTML_DOC)`` on report operations
HTML_DOC: dict[str, Any] = {
    "parameters": [{"name": "format", "in": "query", "required": False,
                    "schema": {"type": "string", "enum": ["json", "html"]},
                    "description": "html: the report as a self-contained HTML page (as Accept: text/html does)"}],
    "responses": {200: {"content": {HTML: {"schema": {"type": "string"}}}}},
}


def wants_html() -> bool:
    """``?format=html``, or an ``Accept`` header preferring HTML to JSON; another ``format`` is refused."""
    chosen = request.args.get("format")
    if chosen not in (None, "json", "html"):
        raise InvalidRequest("Query parameter 'format' must be json or html.",
                             errors=[FieldError("format", "must be json or html")])
    if chosen is not None:
        return chosen == "html"
    accepted = request.accept_mimetypes
    return HTML in request.headers.get("Accept", "") and accepted.quality(HTML) > accepted.quality("application/json")


def init_app(app: Flask) -> None:
    @app.before_request
    def _check_format() -> None:  # refused before any work, not after it
        wants_html()


def answer(kind: Kind, report: R, schema: Schema) -> R | Response:
    """``report`` for the view's decorator to dump as JSON, or its HTML page; either way the verdict header."""
    g.fairprobe_verdict = str(getattr(report, "verdict", "") or "")
    if wants_html():
        return Response(render(kind, schema.dump(report)), mimetype=HTML)
    return report
