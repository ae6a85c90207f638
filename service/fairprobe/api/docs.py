"""What a person opening the service in a browser finds: ``/`` with links, ``/docs`` with the API.

``/docs`` is flask-smorest's Swagger UI page (configured in ``fairprobe.OPENAPI_INFO``); its script and
style come from the ``flask-swagger-ui`` package's copy of Swagger UI, served here, so the page works
with no network beyond this service. None of these paths needs an API key: they hold no data.
"""

from __future__ import annotations

import functools
import mimetypes
from importlib.resources import files
from typing import Any

from flask import Blueprint, Flask, Response, abort, request

from fairprobe import __version__

__all__ = ["OPEN_PATHS", "init_app", "is_open"]

#: the Swagger UI files /docs needs, from the package (nothing else in it is served)
ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
                    "favicon-16x16.png", "favicon-32x32.png"})
#: paths any caller may read without a key (the middleware asks ``is_open``)
OPEN_PATHS = frozenset({"/", "/openapi.json", "/docs", "/redoc", "/healthz", "/readyz"})
ASSET_PREFIX = "/docs/assets/"

LINKS: dict[str, tuple[str, str]] = {
    "docs": ("/docs", "Interactive API documentation (Swagger UI)"),
    "openapi": ("/openapi.json", "The OpenAPI 3.1 document"),
    "metrics_catalogue": ("/v1/metrics", "Every metric: formula, ideal value, AIF360 source, decision rules"),
    "name_banks": ("/v1/name-banks", "Name banks for counterfactual probes, with sources"),
    "health": ("/healthz", "Liveness"),
    "ready": ("/readyz", "Readiness: a tiny real audit"),
    "prometheus": ("/metrics", "Prometheus metrics"),
}

blp = Blueprint("home", __name__)


def _page() -> str:
    items = "".join(f'<li><a href="{href}">{href}</a> — {text}</li>' for href, text in LINKS.values())
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>fairprobe {__version__}</title>'
            '<style>body{font:16px/1.5 system-ui,sans-serif;max-width:50em;margin:2em auto;padding:0 1em}</style>'
            f'</head><body><h1>fairprobe {__version__}</h1><p>Audits scoring, segmentation and personalization '
            f'models for bias.</p><ul>{items}</ul></body></html>')


@blp.get("/")
def home() -> Any:
    """Links to everything a caller can read; HTML for a browser, JSON otherwise."""
    accepted = request.accept_mimetypes
    if accepted.quality("text/html") > accepted.quality("application/json"):
        return Response(_page(), mimetype="text/html")
    return {"name": "fairprobe", "version": __version__,
            "links": {name: {"href": href, "title": text} for name, (href, text) in LINKS.items()}}


@functools.cache
def _asset(name: str) -> bytes:
    return (files("flask_swagger_ui") / "dist" / name).read_bytes()


@blp.get("/docs/assets/<name>")
def asset(name: str) -> Response:
    if name not in ASSETS:
        abort(404)
    response = Response(_asset(name), mimetype=mimetypes.guess_type(name)[0] or "application/octet-stream")
    response.cache_control.max_age = 86400
    return response


@blp.get("/redoc")
def redoc() -> Response:
    """Old habit: ReDoc's path points at the docs this service has."""
    return Response(status=308, headers={"Location": "/docs"})


def is_open(path: str) -> bool:
    """Whether ``path`` is served without an API key: health checks, this page, the docs and the spec."""
    return path in OPEN_PATHS or path.startswith(ASSET_PREFIX)


def init_app(app: Flask) -> None:
    app.register_blueprint(blp)
