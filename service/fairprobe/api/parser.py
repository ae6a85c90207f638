"""Reading request bodies: JSON through orjson, or multipart with a JSON ``request`` part and files.

A multipart audit sends the same JSON as ``POST /v1/audits`` (less ``data``) in a part named
``request``, and the CSV file in a part named ``data``; both arrive at the schema as one JSON object.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from flask import Request
from flask_smorest import Blueprint as _SmorestBlueprint
from webargs import core
from webargs.flaskparser import FlaskParser

from fairprobe.errors import FieldError, InvalidRequest, UnsupportedMediaType, ValidationFailed

__all__ = ["Blueprint", "RequestParser"]

MULTIPART = "multipart/form-data"


def _json(raw: bytes, field: str) -> Any:
    if not raw.strip():
        raise InvalidRequest("The request body is empty.", errors=[FieldError(field, "is empty")])
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        message = f"is not valid JSON: {exc.msg} at position {exc.pos}"
        raise InvalidRequest(f"{field} {message}", errors=[FieldError(field, message)]) from exc


class RequestParser(FlaskParser):  # type: ignore[misc]
    """webargs' Flask parser with fairprobe's JSON and multipart reading, and 415 for anything else."""

    def _raw_load_json(self, req: Request) -> Any:
        if req.mimetype == MULTIPART:
            return self._load_multipart(req)
        if not core.is_json(req.mimetype):
            raise UnsupportedMediaType(
                f"Content-Type {req.mimetype or '(none)'!r} is not accepted; send application/json "
                "or multipart/form-data.",
                errors=[FieldError("Content-Type", "must be application/json or multipart/form-data")],
            )
        return _json(req.get_data(cache=True), "body")

    @staticmethod
    def _load_multipart(req: Request) -> Any:
        if "request" in req.files:
            raw = req.files["request"].read()
        elif "request" in req.form:
            raw = req.form["request"].encode()
        else:
            raise ValidationFailed.on("request", "a multipart audit needs a part 'request' holding the JSON fields")
        body = _json(raw, "request")
        if not isinstance(body, dict):
            raise ValidationFailed.on("request", "must be a JSON object")
        if "data" in req.files:
            if "data" in body:
                raise ValidationFailed.on("data", "give the data either as a file part or inside 'request'")
            body["data"] = {"csv": req.files["data"].read()}
        return body


class Blueprint(_SmorestBlueprint):  # type: ignore[misc]
    """flask-smorest's Blueprint reading bodies with ``RequestParser``."""

    ARGUMENTS_PARSER = RequestParser()

    #: what any view that reads a request body may answer besides 200 (and 422, documented by arguments)
    BODY_ERRORS = ((400, "BAD_REQUEST"), (401, "UNAUTHORIZED"), (413, "REQUEST_ENTITY_TOO_LARGE"),
                   (415, "UNSUPPORTED_MEDIA_TYPE"))

    def body_errors(self, view: Callable[..., Any]) -> Callable[..., Any]:
        """Document the problem responses every body-reading view shares."""
        for status, name in reversed(self.BODY_ERRORS):
            view = self.alt_response(status, response=name)(view)
        return view
