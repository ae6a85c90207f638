"""What form an answer takes: the report as JSON (default), a self-contained HTML page, or OpenMetrics text.

A caller asks for HTML with ``?format=html`` or an ``Accept`` header that prefers ``text/html`` to JSON, and
for OpenMetrics with ``?format=openmetrics`` or ``Accept: application/openmetrics-text``.
Either way the verdict also travels in the ``X-Fairprobe-Verdict`` header, so a gate can read it from any
answer (the CLI does, when it saves an HTML report).
"""

from __future__ import annotations

from typing import Any, TypeVar

from flask import Flask, Response, g, request
from marshmallow import Schema

from fairprobe.errors import FieldError, InvalidRequest
from fairprobe.report.html import Kind, render
from fairprobe.report.openmetrics import OPENMETRICS, render_openmetrics

__all__ = ["HTML", "HTML_DOC", "answer", "chosen_form", "init_app", "wants_html"]

HTML = "text/html"
R = TypeVar("R")

#: the OpenAPI description of the HTML alternative, for ``@blp.doc(**HTML_DOC)`` on report operations
HTML_DOC: dict[str, Any] = {
    "parameters": [{"name": "format", "in": "query", "required": False,
                    "schema": {"type": "string", "enum": ["json", "html", "openmetrics"]},
                    "description": "html: the report as a self-contained HTML page (as Accept: text/html does); "
                                   "openmetrics: gauges per finding as OpenMetrics text (as Accept: "
                                   "application/openmetrics-text does)"}],
    "responses": {200: {"content": {HTML: {"schema": {"type": "string"}},
                                    OPENMETRICS: {"schema": {"type": "string"}}}}},
}


def chosen_form() -> str:
    """``json``, ``html`` or ``openmetrics``: from ``?format=``, else the ``Accept`` header; another ``format``
    is refused."""
    chosen = request.args.get("format")
    if chosen not in (None, "json", "html", "openmetrics"):
        raise InvalidRequest("Query parameter 'format' must be json, html or openmetrics.",
                             errors=[FieldError("format", "must be json, html or openmetrics")])
    if chosen is not None:
        return chosen
    accepted = request.accept_mimetypes
    header = request.headers.get("Accept", "")
    json_quality = accepted.quality("application/json")
    if OPENMETRICS in header and accepted.quality(OPENMETRICS) > json_quality:
        return "openmetrics"
    return "html" if HTML in header and accepted.quality(HTML) > json_quality else "json"


def wants_html() -> bool:
    """``?format=html``, or an ``Accept`` header preferring HTML to JSON."""
    return chosen_form() == "html"


def init_app(app: Flask) -> None:
    @app.before_request
    def _check_format() -> None:  # refused before any work, not after it
        wants_html()


def answer(kind: Kind, report: R, schema: Schema) -> R | Response:
    """``report`` for the view's decorator to dump as JSON, or its HTML page; either way the verdict header."""
    g.fairprobe_verdict = str(getattr(report, "verdict", "") or "")
    form = chosen_form()
    if form == "html":
        return Response(render(kind, schema.dump(report)), mimetype=HTML)
    if form == "openmetrics":
        return Response(render_openmetrics(kind, schema.dump(report)),
                        content_type=f"{OPENMETRICS}; version=1.0.0; charset=utf-8")
    return report
