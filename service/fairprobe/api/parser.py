"""Reading request bodies: strict JSON (no duplicate keys, no NaN), or an upload.

Every operation reads JSON, except ``POST /v1/audits/upload``: it reads ``multipart/form-data`` with the
same JSON as ``POST /v1/audits`` (less ``data``) in a part named ``request`` and the data file in a part
named ``data`` (CSV; Arrow IPC or Parquet by its media type or file name), or the file itself as the body
(by ``Content-Type``) with that JSON as the query parameter ``request``; either way both arrive at the
schema as one JSON object, so errors name the same fields.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from copy import deepcopy
from functools import wraps
from typing import Any, ClassVar, TypeVar, cast

from flask import Request
from flask_smorest import Blueprint as _SmorestBlueprint
from marshmallow import Schema
from webargs import core
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from fairprobe.api.body import BodyInput
from fairprobe.api.multipart import Part, Parts, split
from fairprobe.errors import FieldError, InvalidRequest, UnsupportedMediaType, ValidationFailed
from fairprobe.schemas.table import RecordRows

__all__ = ["UPLOAD_PATH", "Blueprint", "RequestParser"]

View = TypeVar("View", bound=Callable[..., Any])

MULTIPART = "multipart/form-data"
#: the one operation that reads multipart/form-data (named in the 415 other operations answer to it)
UPLOAD_PATH = "/v1/audits/upload"


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

#: from this body size on, a body holding ``"records"`` is parsed without a dict per record (``_compact_decoder``)
COMPACT_BYTES = 1 << 20
#: where a request holds rows as ``records`` (each place a ``DataSchema`` sits): those lists become RecordRows
RECORD_PATHS = (("data", "records"), ("profiles", "records"), ("generator", "reference", "data", "records"))
#: how many distinct rows, and distinct strings, one parse shares at most (beyond, values stay as parsed)
SHARED_MAX = 1 << 16
_CONTAINERS = frozenset((dict, list, tuple))


def _json(raw: bytes | bytearray, field: str) -> Any:
    """Strict JSON: no duplicate keys, no NaN/Infinity, bounded nesting; errors name ``field``.

    The standard library's C scanner with a pairs hook is used rather than orjson because only it can
    see a key given twice. On 1M records of four fields it takes ~0.9 s and ~360 MB (a dict per record);
    a body of records over ``COMPACT_BYTES`` goes to ``_compact_decoder`` instead: ~1.5 s and ~60 MB.
    """
    if not raw.strip():
        raise InvalidRequest("The request body is empty.", errors=[FieldError(field, "is empty")])
    try:
        text = raw.decode("utf-8")
        compact = len(raw) >= COMPACT_BYTES and b'"records"' in raw
        del raw  # the caller keeps no other reference: a large body is not held twice while it is parsed
        value, end = (_compact_decoder() if compact else _DECODER).raw_decode(text, _skip_space(text))
        if text[end:].strip():
            raise json.JSONDecodeError("extra data after the JSON value", text, end)
        del text
        return _restore(_take_records(value)) if compact else value
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


def _compact_decoder() -> json.JSONDecoder:
    """A decoder that keeps each flat JSON object (every value a string, number, boolean or null) as a tuple
    of its values followed by its keys, and shares what repeats: one keys tuple per key order, one tuple per
    distinct row without floats, one string per distinct text in rows with floats (a float is not shared by
    value: that would merge 0.0 and -0.0).

    A dict per record costs ~180 bytes and its two fresh strings another ~110; rows of a few categories
    then cost a pointer each. ``_take_records`` keeps the rows, ``_restore`` turns every other tuple back
    into the dict it was.
    """
    key_orders: dict[tuple[str, ...], tuple[str, ...]] = {}
    plans: dict[tuple[type, ...], bool | tuple[int, ...]] = {}
    rows: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    texts: dict[str, str] = {}
    shared_text = texts.setdefault

    def pairs_hook(pairs: list[tuple[str, Any]]) -> Any:
        if not pairs:
            return {}
        keys, values = zip(*pairs, strict=True)
        known = key_orders.get(keys)
        if known is None:
            _unique_pairs(pairs)
            key_orders[keys] = known = keys
        types = tuple(map(type, values))
        plan = plans.get(types)
        if plan is None:
            # False: not flat; True: share whole rows; else the positions of the strings to share
            plan = (False if not _CONTAINERS.isdisjoint(types)
                    else True if float not in types else tuple(i for i, t in enumerate(types) if t is str))
            plans[types] = plan
        if plan is False:
            return dict(pairs)
        row = (*values, known)
        if plan is True:
            key = (row, types)  # with the types, 1 and true (equal in Python) stay apart
            if (shared := rows.get(key)) is not None:
                return shared
            if len(rows) < SHARED_MAX:
                rows[key] = row
        elif plan and len(texts) < SHARED_MAX:
            cells = list(row)
            for i in plan:
                cells[i] = shared_text(cells[i], cells[i])
            return tuple(cells)
        return row

    return json.JSONDecoder(object_pairs_hook=pairs_hook, parse_constant=_no_constant)


def _take_records(value: Any) -> Any:
    """The lists of flat records at ``RECORD_PATHS`` as RecordRows (in place)."""
    for path in RECORD_PATHS:
        parent = value
        for key in path[:-1]:
            parent = parent.get(key) if type(parent) is dict else None
        rows = parent.get(path[-1]) if type(parent) is dict else None
        if type(rows) is list and rows and all(type(r) is tuple for r in rows):
            parent[path[-1]] = RecordRows(rows)
    return value


def _restore(value: Any) -> Any:
    """Every flat object ``_compact_decoder`` left as a tuple as the dict it was (in place where it can)."""
    kind = type(value)
    if kind is tuple:
        return dict(zip(value[-1], value[:-1], strict=True))
    if kind is dict:
        for key, item in value.items():
            if type(item) in _CONTAINERS:
                value[key] = _restore(item)
    elif kind is list and not _CONTAINERS.isdisjoint(map(type, value)):
        value[:] = map(_restore, value)
    return value


def _skip_space(text: str) -> int:
    return len(text) - len(text.lstrip())


class RequestParser(FlaskParser):
    """webargs' Flask parser with fairprobe's strict JSON, a multipart ``upload`` location, and 415 otherwise."""

    __location_map__ = dict(FlaskParser.__location_map__, upload="load_upload")  # noqa: RUF012 (as webargs declares it)

    def _raw_load_json(self, req: Request) -> Any:
        if req.mimetype == MULTIPART:
            raise UnsupportedMediaType(
                f"This operation reads application/json; send CSV files as multipart/form-data to POST {UPLOAD_PATH}.",
                errors=[FieldError("Content-Type", "must be application/json")],
            )
        if not core.is_json(req.mimetype):
            raise UnsupportedMediaType(
                f"Content-Type {req.mimetype or '(none)'!r} is not accepted; send application/json.",
                errors=[FieldError("Content-Type", "must be application/json")],
            )
        return _json(_body(req), "body")  # parsed once: the bytes go with the parse

    def load_upload(self, req: Request, schema: Schema) -> Any:
        """The audit's JSON fields with the data file as ``data.<csv|arrow|parquet>``.

        Multipart: the fields in part ``request``, the file in part ``data``. Direct: the body is the file
        (``text/csv``, Arrow IPC or Parquet by ``Content-Type``), the fields the query parameter ``request``
        (no multipart framing to parse, one copy of the bytes).
        """
        if req.mimetype in DIRECT:
            if "request" not in req.args:
                raise ValidationFailed.on("request", "a direct upload needs the audit's JSON fields as the query "
                                                     "parameter 'request' (or send multipart/form-data)")
            body, options = _fields(req.args["request"].encode())
            body["data"] = {**options, DIRECT[req.mimetype]: _body(req)}
            return body
        if req.mimetype != MULTIPART:
            raise UnsupportedMediaType(
                f"Content-Type {req.mimetype or '(none)'!r} is not accepted here; send multipart/form-data with "
                "a part 'request' (the JSON fields) and a part 'data' (the file), the file itself as text/csv, "
                "Arrow or Parquet with the fields as the query parameter 'request', or JSON to POST /v1/audits.",
                errors=[FieldError("Content-Type", "must be multipart/form-data, text/csv, Arrow or Parquet")],
            )
        parts = _upload_parts(req)
        if "request" in parts.files:
            raw = parts.files["request"].data
        elif "request" in parts.fields:
            raw = parts.fields["request"].data
        else:
            raise ValidationFailed.on("request", "an upload needs a part 'request' holding the JSON fields")
        body, options = _fields(raw)
        if "data" not in parts.files:
            raise ValidationFailed.on("data", "an upload needs a file part 'data' holding the CSV")
        part = parts.files["data"]
        body["data"] = {**options, _file_kind(part.mimetype, part.filename or ""): part.data}
        return body


def _body(req: Request) -> bytes | bytearray:
    """The whole request body, read once. A body of declared length comes in one read of ``BodyInput``
    (from gunicorn: received from the socket into one buffer) rather than werkzeug's, which reads 64 KiB at a
    time and copies each piece twice; its limits stay werkzeug's: over ``MAX_CONTENT_LENGTH`` is a 413, a
    body that ends early a 400."""
    stream, length = req.environ.get("wsgi.input"), req.content_length
    if not isinstance(stream, BodyInput) or length is None:
        return req.get_data(cache=False)
    if req.max_content_length is not None and length > req.max_content_length:
        raise RequestEntityTooLarge()
    raw = stream.read()
    if len(raw) < length:
        raise ClientDisconnected()
    return raw


#: the parts of an upload that are read (any other is ignored)
UPLOAD_PARTS = ("request", "data")


def _upload_parts(req: Request) -> Parts:
    """An upload's parts. A body of declared length is read in one piece (``_body``) and split in memory
    where it has the plain form every client sends (``multipart.split``); werkzeug's parser reads any other,
    from the bytes already read."""
    boundary = req.mimetype_params.get("boundary")
    if isinstance(req.environ.get("wsgi.input"), BodyInput) and req.content_length is not None and boundary:
        raw = _body(req)
        parts = split(raw if isinstance(raw, bytearray) else bytearray(raw), boundary,
                      max_parts=req.max_form_parts, max_field=req.max_form_memory_size)
        if parts is not None:
            return parts
        req.environ["wsgi.input"] = io.BytesIO(raw)
    return Parts(fields={n: Part(n, None, "", req.form[n].encode()) for n in UPLOAD_PARTS if n in req.form},
                 files={n: Part(n, f.filename, f.mimetype, f.read()) for n in UPLOAD_PARTS if (f := req.files.get(n))})


def _fields(raw: bytes | bytearray) -> tuple[dict[str, Any], dict[str, Any]]:
    """An upload's JSON fields, and the options of its data (only a CSV's ``delimiter`` may be given)."""
    body = _json(raw, "request")
    if not isinstance(body, dict):
        raise ValidationFailed.on("request", "must be a JSON object")
    options = body.pop("data", {"delimiter": None})
    if not isinstance(options, dict) or not options or set(options) - {"delimiter"}:
        raise ValidationFailed.on("data", "send the data as the file ('data' part or the body); inside 'request', "
                                          "'data' may only hold the CSV's 'delimiter'")
    return body, {k: v for k, v in options.items() if v is not None}


#: what a file part's media type or name says it holds (anything else is read as CSV)
COLUMNAR = {"application/vnd.apache.arrow.stream": "arrow", "application/vnd.apache.arrow.file": "arrow",
            "application/vnd.apache.parquet": "parquet", "application/x-parquet": "parquet"}
SUFFIXES = {".arrow": "arrow", ".arrows": "arrow", ".feather": "arrow", ".parquet": "parquet"}
#: the media types a direct upload's body may have
DIRECT = {"text/csv": "csv", **COLUMNAR}


def _file_kind(mimetype: str, filename: str) -> str:
    """``arrow``, ``parquet`` or ``csv`` for the upload's data part."""
    if mimetype in COLUMNAR:
        return COLUMNAR[mimetype]
    suffix = filename[filename.rfind("."):].lower() if "." in filename else ""
    return SUFFIXES.get(suffix, "csv")


class Blueprint(_SmorestBlueprint):  # type: ignore[misc]
    """flask-smorest's Blueprint reading bodies with ``RequestParser``."""

    ARGUMENTS_PARSER = RequestParser()

    #: what any view that reads a request body may answer besides 200 (and 422, documented by arguments)
    BODY_ERRORS = ((400, "BAD_REQUEST"), (401, "UNAUTHORIZED"), (413, "REQUEST_ENTITY_TOO_LARGE"),
                   (415, "UNSUPPORTED_MEDIA_TYPE"))

    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING: ClassVar[dict[str, str]] = {
        **_SmorestBlueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING, "upload": MULTIPART}

    # flask-smorest has no type hints: its decorators are given their types here, so views stay typed

    def route(self, rule: str, *, parameters: Any = None, **options: Any) -> Callable[[View], View]:
        """flask-smorest's route, giving every operation an operationId: the view's name in camelCase."""
        register = super().route(rule, parameters=parameters, **options)

        def decorator(view: View) -> View:
            head, *rest = view.__name__.split("_")
            view._apidoc = deepcopy(getattr(view, "_apidoc", {}))  # type: ignore[attr-defined]
            manual = view._apidoc.setdefault("manual_doc", {})  # type: ignore[attr-defined]
            manual.setdefault("operationId", head + "".join(w.capitalize() for w in rest))
            return cast(View, register(view))

        return decorator

    def arguments(self, schema: Any, **options: Any) -> Callable[[View], View]:
        return cast(Callable[[View], View], super().arguments(schema, **options))

    def response(self, status_code: int, schema: Any = None, **options: Any) -> Callable[[View], View]:
        return cast(Callable[[View], View], super().response(status_code, schema, **options))

    def alt_response(self, status_code: int, **options: Any) -> Callable[[View], View]:
        return cast(Callable[[View], View], super().alt_response(status_code, **options))

    def doc(self, **kwargs: Any) -> Callable[[View], View]:
        return cast(Callable[[View], View], super().doc(**kwargs))

    def upload(self, schema: type[Schema], parts: type[Schema]) -> Callable[[View], View]:
        """Read the body as an upload (see ``RequestParser.load_upload``) into ``schema``; document ``parts``."""

        def decorator(view: View) -> View:
            @wraps(view)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                return view(*args, **kwargs)

            wrapper._apidoc = deepcopy(getattr(view, "_apidoc", {}))  # type: ignore[attr-defined]
            docs = wrapper._apidoc.setdefault("arguments", {})  # type: ignore[attr-defined]
            docs.setdefault("parameters", []).append({"in": "upload", "required": True, "schema": parts})
            docs.setdefault("responses", {})[422] = "UNPROCESSABLE_ENTITY"
            # the direct form: the file as the body, the fields as the query parameter 'request'
            manual = wrapper._apidoc.setdefault("manual_doc", {})  # type: ignore[attr-defined]
            manual.setdefault("requestBody", {}).setdefault("content", {}).update(
                {media_type: {"schema": {"type": "string", "format": "binary"}} for media_type in DIRECT})
            manual.setdefault("parameters", []).append({
                "name": "request", "in": "query", "required": False, "schema": {"type": "string"},
                "description": "With the file itself as the body (text/csv, Arrow IPC or Parquet): the audit's "
                               "JSON fields, as in the multipart part 'request'."})
            return cast(View, self.ARGUMENTS_PARSER.use_args(schema, location="upload")(wrapper))

        return decorator

    def body_errors(self, view: View) -> View:
        """Document the problem responses every body-reading view shares."""
        for status, name in reversed(self.BODY_ERRORS):
            view = self.alt_response(status, response=name)(view)
        return view
