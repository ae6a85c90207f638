"""Reading request bodies: strict JSON (no duplicate keys, no NaN), or multipart with a JSON ``request`` part and files.

A multipart audit sends the same JSON as ``POST /v1/audits`` (less ``data``) in a part named
``request``, and the CSV file in a part named ``data``; both arrive at the schema as one JSON object.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Request
from flask_smorest import Blueprint as _SmorestBlueprint
from webargs import core
from webargs.flaskparser import FlaskParser

from fairprobe.errors import FieldError, InvalidRequest, UnsupportedMediaType, ValidationFailed

__all__ = ["Blueprint", "RequestParser"]

MULTIPART = "multipart/form-data"


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object as a dict, refusing a key given twice (a parser would silently keep the last)."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return obj


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_DECODER = json.JSONDecoder(object_pairs_hook=_unique_pairs, parse_constant=_no_constant)


def _json(raw: bytes, field: str) -> Any:
    """Strict JSON: no duplicate keys, no NaN/Infinity, bounded nesting; errors name ``field``.

    The standard library's C scanner with a pairs hook is used rather than orjson because only it can
    see a key given twice; it costs about 0.15 s per 300,000 records.
    """
    if not raw.strip():
        raise InvalidRequest("The request body is empty.", errors=[FieldError(field, "is empty")])
    try:
        text = raw.decode("utf-8")
        value, end = _DECODER.raw_decode(text, _skip_space(text))
        if text[end:].strip():
            raise json.JSONDecodeError("extra data after the JSON value", text, end)
        return value
    except _DuplicateKey as exc:
        message = f"has the key {exc.key[:100]!r} twice in one object; give each key once"
    except json.JSONDecodeError as exc:
        message = f"is not valid JSON: {exc.msg} at position {exc.pos}"
    except UnicodeDecodeError as exc:
        message = f"is not UTF-8 text (byte {exc.start})"
    except RecursionError:
        message = "is nested too deeply"
    except ValueError as exc:  # NaN/Infinity, or an integer with more digits than Python parses
        message = f"is not valid JSON: {str(exc)[:200]}"
    raise InvalidRequest(f"{field} {message}", errors=[FieldError(field, message)])


def _skip_space(text: str) -> int:
    return len(text) - len(text.lstrip())


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
