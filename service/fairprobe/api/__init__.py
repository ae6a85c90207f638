"""HTTP layer: one blueprint per capability; a view loads, calls one engine, returns."""

from __future__ import annotations

import http
from typing import Any

from flask import Flask
from flask_smorest import Api
from flask_smorest.spec import prepare_response
from marshmallow import Schema, fields

from fairprobe.api import audits, catalogue, docs, health, namebanks, negotiate, outbound, probes, stress
from fairprobe.schemas.limits import Limits, use_limits
from fairprobe.settings import Settings

__all__ = ["ProblemSchema", "init_app", "make_api"]

PROBLEM_MIME = "application/problem+json"


class FieldErrorSchema(Schema):
    field = fields.String(metadata={"description": "dotted path, e.g. protected[0].reference"})
    message = fields.String()


class ProblemSchema(Schema):
    """RFC 9457 problem details."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    instance = fields.String()
    request_id = fields.String(allow_none=True)
    errors = fields.List(fields.Nested(FieldErrorSchema))


class ProblemApi(Api):  # type: ignore[misc]
    """flask-smorest's Api, documenting every error as problem+json; ``problems`` renders them."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        # fairprobe.problems registers the handlers for every error
        pass

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_MIME)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_MIME)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def free_form_objects(converter: Any, field: fields.Field[Any], ret: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """An object field with no declared properties takes any keys: say so (``additionalProperties: true``);
    a bare ``type: object`` reads to code generators as an object with no properties at all."""
    if ret.get("type") == "object" and "properties" not in ret and "additionalProperties" not in ret:
        return {"additionalProperties": True}
    return {}


def make_api() -> ProblemApi:
    return ProblemApi()


def init_app(app: Flask, settings: Settings) -> ProblemApi:
    """Register the blueprints, the request parser and the per-request limits."""
    api = make_api()
    api.init_app(app)
    api.ma_plugin.converter.add_attribute_function(free_form_objects)
    docs.init_app(app)
    negotiate.init_app(app)
    outbound.init_app(app, settings)
    for blueprint in (health.blp, catalogue.blp, audits.blp, probes.blp, stress.blp, namebanks.blp):
        api.register_blueprint(blueprint)
    limits = Limits(
        max_rows=settings.max_rows, min_group_size=settings.min_group_size, alpha=settings.alpha,
        max_probes=settings.max_probes, max_concurrency=settings.max_concurrency,
        max_deadline_s=settings.max_deadline_s,
    )

    @app.before_request
    def _limits() -> None:
        use_limits(limits)

    return api
