"""A ``multipart/form-data`` body already in memory, split into its parts where it has the plain form every
client sends; werkzeug's parser reads any other.

werkzeug's parser is a stream parser: it reads a body 64 KiB at a time, searches each piece with regular
expressions and copies the file into a buffer of its own (a 12 MiB CSV took ~17 ms more as a multipart
upload than as the body itself). A body that is in memory already can be split with a handful of searches,
and its largest part handed on without a copy.

The plain form: the delimiter lines are ``--boundary`` followed by CRLF (the last by ``--``), at the body's
start (after at most one CRLF) and after a CRLF everywhere else; each part has a few ``Name: value`` header
lines ending in CRLF, among them a ``Content-Disposition: form-data`` naming the part. :func:`split` returns
None for anything else — a preamble, a bare LF, padding after a delimiter, folded or unknown headers, the
boundary anywhere but in a delimiter line, no closing line, more parts or a larger text field than the
limits allow — and werkzeug then reads the body (and answers as it always has). Where :func:`split`
answers, it answers what werkzeug does: ``tests/api/test_multipart.py`` checks the two on generated bodies.
"""

from __future__ import annotations

from dataclasses import dataclass

from werkzeug.http import parse_options_header

__all__ = ["Part", "Parts", "split"]

#: the part headers the plain form may carry (header names are case-insensitive)
_HEADERS = frozenset(("content-disposition", "content-type"))
#: the longest header block of a plain part (a few short lines; anything longer is werkzeug's to read)
_HEAD_MAX = 16 << 10
#: the charsets werkzeug decodes a text field with when its part names one (else UTF-8)
_CHARSETS = frozenset(("ascii", "us-ascii", "utf-8", "iso-8859-1"))


@dataclass(frozen=True, slots=True)
class Part:
    """One part: its name, its file name (None for a text field), its media type (lower case, "" when not
    given) and its bytes (a text field's as werkzeug decodes them, then as UTF-8)."""

    name: str
    filename: str | None
    mimetype: str
    data: bytes | bytearray


@dataclass(frozen=True, slots=True)
class Parts:
    """The text fields and the files of a body, by name: the first of each, as werkzeug's ``MultiDict`` of
    ``form`` and of ``files`` give them."""

    fields: dict[str, Part]
    files: dict[str, Part]


def split(body: bytearray, boundary: str, *, max_parts: int | None, max_field: int | None) -> Parts | None:
    """The parts of ``body``, or None when ``body`` is not in the plain form (see the module docstring).

    The largest file's bytes are ``body`` itself, trimmed in place to them (no copy): ``body`` is not to be
    used otherwise afterwards.
    """
    if not boundary or not boundary.isascii():  # werkzeug takes one longer than RFC 2046's 70 characters
        return None
    marker = b"--" + boundary.encode()
    at = 2 if body.startswith(b"\r\n" + marker) else 0
    if not body.startswith(marker, at):
        return None
    spans: list[tuple[_Head, int, int]] = []  # each part's headers, and where its bytes start and end
    while not body.startswith(b"--", at + len(marker)):  # not yet the closing line (the epilogue follows it)
        after = at + len(marker)
        if not body.startswith(b"\r\n", after):
            return None
        head_end = body.find(b"\r\n\r\n", after, after + _HEAD_MAX)
        head = _head(bytes(body[after + 2:head_end + 2])) if head_end >= 0 else None
        if head is None:
            return None
        start = head_end + 4
        at = body.find(marker, start)  # the boundary's next occurrence must begin a delimiter line
        if at < 0 or body[at - 2:at] != b"\r\n":
            return None
        spans.append((head, start, at - 2))
        if max_parts is not None and len(spans) > max_parts:
            return None  # werkzeug answers 413
    for head, start, end in spans:
        if head.filename is None and max_field is not None and end - start > max_field:
            return None  # werkzeug answers 413
    return _parts(body, spans)


@dataclass(frozen=True, slots=True)
class _Head:
    name: str
    filename: str | None
    content_type: str | None


def _head(block: bytes) -> _Head | None:
    """A part's header lines (each ending in CRLF) read as werkzeug reads them, or None unless plain."""
    try:
        text = block.decode("ascii")
    except UnicodeDecodeError:
        return None
    seen: dict[str, str] = {}
    for line in text.split("\r\n")[:-1]:
        name, colon, value = line.partition(":")
        key = name.lower()
        if not colon or name != name.strip(" \t") or "\r" in line or "\n" in line or key not in _HEADERS \
                or key in seen:
            return None
        seen[key] = value.strip(" \t")
    if "content-disposition" not in seen:
        return None
    disposition, options = parse_options_header(seen["content-disposition"])
    if disposition != "form-data" or not options.get("name"):
        return None
    return _Head(options["name"], options.get("filename"), seen.get("content-type"))


def _parts(body: bytearray, spans: list[tuple[_Head, int, int]]) -> Parts:
    """The first text field and the first file of each name, as werkzeug's ``form`` and ``files`` give them;
    the largest file's bytes are ``body`` trimmed to them."""
    first: dict[tuple[bool, str], int] = {}
    for i, (head, _, _) in enumerate(spans):
        first.setdefault((head.filename is not None, head.name), i)
    files = [i for (is_file, _), i in first.items() if is_file]
    largest = max(files, key=lambda i: spans[i][2] - spans[i][1], default=None)
    fields: dict[str, Part] = {}
    stored: dict[str, Part] = {}
    for (is_file, name), i in first.items():
        if i != largest:
            head, start, end = spans[i]
            (stored if is_file else fields)[name] = _part(head, bytes(body[start:end]))
    if largest is not None:
        head, start, end = spans[largest]
        del body[end:]
        del body[:start]  # CPython moves the start of a bytearray: no copy
        stored[head.name] = _part(head, body)
    return Parts(fields, stored)


def _part(head: _Head, data: bytes | bytearray) -> Part:
    media_type, options = parse_options_header(head.content_type)
    if head.filename is None:  # a text field, decoded as werkzeug decodes it
        charset = options.get("charset", "").lower()
        data = bytes(data).decode(charset if charset in _CHARSETS else "utf-8", "replace").encode()
    return Part(head.name, head.filename, media_type.lower(), data)
