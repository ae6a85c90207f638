"""fairprobe: a model-agnostic REST service that audits AI models for bias.

``create_app(settings=None)`` is the one place where the service is wired together; gunicorn calls
it as ``fairprobe:create_app()``.
"""

from __future__ import annotations

import io
from importlib.metadata import version
from typing import IO

from flask import Flask, Request

from fairprobe.settings import Settings

__all__ = ["Settings", "__version__", "create_app"]

__version__ = version("fairprobe")

OPENAPI_INFO = {
    "API_TITLE": "fairprobe",
    "API_VERSION": __version__,
    "OPENAPI_VERSION": "3.1.0",
    "OPENAPI_URL_PREFIX": "/",
    "OPENAPI_JSON_PATH": "openapi.json",
    "API_SPEC_OPTIONS": {
        "info": {
            "description": "Audit scoring, segmentation and personalization models for bias: AIF360 "
                           "metrics on a counts table, with intervals, tests and a policy verdict.",
        },
        "components": {
            "securitySchemes": {"bearer": {
                "type": "http", "scheme": "bearer",
                "description": "A key from FAIRPROBE_API_KEYS; needed when the service has keys configured.",
            }},
        },
        # every operation but the health checks (which say security: [])
        "security": [{"bearer": []}],
    },
    # /docs: Swagger UI, its assets served from the flask-swagger-ui package (no CDN; see api/docs.py)
    "OPENAPI_SWAGGER_UI_PATH": "docs",
    "OPENAPI_SWAGGER_UI_URL": "/docs/assets/",
    "OPENAPI_SWAGGER_UI_CONFIG": {"deepLinking": True, "tryItOutEnabled": False},
}


class InMemoryRequest(Request):
    """Flask's request, keeping uploaded files in memory: werkzeug would spool a file part over 500 KB to a
    temporary file on disk, and fairprobe writes no caller's data to disk (the body is bounded by
    ``max_body_bytes`` already)."""

    def _get_file_stream(self, total_content_length: int | None, content_type: str | None,
                         filename: str | None = None, content_length: int | None = None) -> IO[bytes]:
        return io.BytesIO()


def create_app(settings: Settings | None = None) -> Flask:
    """Build the WSGI app; settings come from ``FAIRPROBE_*`` variables unless given."""
    # imports here keep `import fairprobe` light for the SDK's tests and for gunicorn's master
    from fairprobe import api, problems
    from fairprobe.api import middleware, work
    from fairprobe.api.body import BodyDeadline
    from fairprobe.json_provider import StrictJSONProvider

    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.request_class = InMemoryRequest
    app.json_provider_class = StrictJSONProvider
    app.json = StrictJSONProvider(app)
    app.config.update(OPENAPI_INFO)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.config["MAX_FORM_MEMORY_SIZE"] = settings.max_body_bytes
    app.extensions["fairprobe.settings"] = settings
    middleware.init_app(app, settings)
    problems.init_app(app)
    work.init_app(app, settings)
    api.init_app(app, settings)
    app.wsgi_app = BodyDeadline(app.wsgi_app, settings.body_timeout_s)  # type: ignore[method-assign]
    return app
