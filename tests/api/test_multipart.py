"""A multipart body in memory is split by ``api.multipart.split`` where it has the plain form, and by werkzeug's
parser otherwise: on generated bodies — as clients write them, and spoiled in every way the plain form
excludes — whatever ``split`` answers is what werkzeug reads (every text field and file, by name: bytes, file
name, media type), and it answers for the bodies clients send. Through the API, an upload audits the same
either way."""

from __future__ import annotations

import io
import json
import random
from collections.abc import Callable
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import parse_form_data
from werkzeug.test import EnvironBuilder

from fairprobe.api import multipart
from fairprobe.api.multipart import split
from tests.answers import json_of

NAMES = ["request", "data", "other", "Data", "requ\u00e9st"]
CHARSETS = [None, "utf-8", "iso-8859-1", "US-ASCII", "latin-9", "bogus"]
TYPES = [None, "text/csv", "TEXT/CSV", "application/vnd.apache.arrow.stream", "text/plain; charset={}", "x/y; a=b"]


def _werkzeug(body: bytes, content_type: str, max_parts: int, max_field: int
              ) -> tuple[MultiDict[str, str], MultiDict[str, FileStorage]] | str:
    environ = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": content_type, "CONTENT_LENGTH": str(len(body)),
               "wsgi.input": io.BytesIO(body)}
    try:
        _, form, files = parse_form_data(environ, stream_factory=lambda *_, **__: io.BytesIO(),
                                         max_form_memory_size=max_field, max_form_parts=max_parts)
    except RequestEntityTooLarge:
        return "413"
    return form, files


def _same(body: bytes, boundary: str, content_type: str, *, max_parts: int = 1000,
          max_field: int = 500_000) -> bool:
    """split's answer agrees with werkzeug's; True when split answered (False: it left the body to werkzeug)."""
    ours = split(bytearray(body), boundary, max_parts=max_parts, max_field=max_field)
    theirs = _werkzeug(body, content_type, max_parts, max_field)
    if ours is None:
        return False
    assert theirs != "413", "werkzeug refuses what split read"
    assert not isinstance(theirs, str)
    form, files = theirs
    assert set(ours.fields) == set(form)
    assert set(ours.files) == set(files)
    for name, part in ours.fields.items():
        assert part.filename is None and part.data == form[name].encode()
    for name, part in ours.files.items():
        stored = files[name]
        assert (part.filename, part.mimetype, bytes(part.data)) == (stored.filename, stored.mimetype, stored.read())
    return True


def _payload(rng: random.Random, boundary: str) -> bytes:
    kind = rng.random()
    if kind < 0.15:
        return ("--" + boundary + rng.choice(["", "X", "--", "\r\n", " \r\n"])).encode()  # the boundary inside
    pieces = [b"a,b\r\n1,2\n", b"\r\n", b"--", b"\r", b"\n-", rng.randbytes(rng.randrange(0, 40)),
              "Jos\u00e9 \u5317\u4eac".encode(), "Jos\u00e9".encode("latin-1"), b"\xff\xfe", b""]
    return b"".join(rng.choice(pieces) for _ in range(rng.randrange(0, 12)))


def _header_value(rng: random.Random, text: str) -> str:
    return rng.choice([f'"{text}"', text if text and all(c.isalnum() for c in text) else f'"{text}"'])


def _body(rng: random.Random) -> tuple[bytes, str, str, bool]:
    """A multipart body, its boundary and Content-Type, and whether it was left in the plain form."""
    boundary = "".join(rng.choice("abcXYZ0189'()+_,-./:=?") for _ in range(rng.randrange(1, 30)))
    if rng.random() < 0.1:
        boundary = boundary + " " + boundary
    content_type = f'multipart/form-data; boundary="{boundary}"'
    line = "\r\n"
    parts: list[bytes] = []
    plain = True
    for _ in range(rng.randrange(0, 5)):
        name = rng.choice(NAMES)
        disposition = f"form-data; name={_header_value(rng, name)}"
        if rng.random() < 0.6:
            filename = rng.choice(["d.csv", "", "a b.arrow", 'q"uote.csv', "x.PARQUET", "\u00e9.csv"])
            disposition += f"; filename={_header_value(rng, filename)}"
        headers = [("Content-Disposition", disposition)]
        media = rng.choice(TYPES)
        if media is not None:
            headers.append((rng.choice(["Content-Type", "content-type"]), media.format(rng.choice(CHARSETS))))
        rng.shuffle(headers)
        text = "".join(f"{k}: {v}{line}" for k, v in headers)
        payload = _payload(rng, boundary)
        plain = plain and text.isascii() and ("--" + boundary).encode() not in payload
        parts.append(text.encode("utf-8") + line.encode() + payload)
    delimiter = f"--{boundary}".encode()
    body = b"".join(delimiter + b"\r\n" + part + b"\r\n" for part in parts) + delimiter + b"--\r\n"
    spoil = rng.random()
    if spoil < 0.5:  # as written: sometimes with the leading CRLF of werkzeug's own encoder, or an epilogue
        body = rng.choice([b"", b"\r\n"]) + body + rng.choice([b"", b"epilogue\r\n", b"\r\n--" + delimiter])
    else:
        plain = False
        spoilers: list[Callable[[bytes], bytes]] = [
            lambda b: b"preamble\r\n" + b,
            lambda b: b.replace(b"\r\n", b"\n"),
            lambda b: b.replace(delimiter + b"\r\n", delimiter + b"  \r\n", 1),
            lambda b: b.replace(b"Content-Disposition:", b"Content-Length: 3\r\nContent-Disposition:", 1),
            lambda b: b.replace(b"Content-Disposition: ", b"Content-Disposition:\r\n ", 1),
            lambda b: b.replace(b"Content-Disposition:", b"Content-Disposition : ", 1),
            lambda b: b.replace(b"form-data;", b"attachment;", 1),
            lambda b: b.replace(b"form-data;", b"form-data;\r\nContent-Disposition: form-data;", 1),
            lambda b: b[:rng.randrange(0, max(len(b), 1))],
            lambda b: b.replace(b'name="', b'nam="', 1),
            lambda b: b.replace(b"\r\n\r\n", b"\r\n\xc3\xa9: x\r\n\r\n", 1),
        ]
        body = rng.choice(spoilers)(body)
    return body, boundary, content_type, plain


@pytest.mark.parametrize("seed", range(400))
def test_what_split_reads_is_what_werkzeug_reads(seed: int) -> None:
    rng = random.Random(seed)
    body, boundary, content_type, plain = _body(rng)
    answered = _same(body, boundary, content_type)
    assert answered or not plain  # a plain body is split (a spoiled one may be, if werkzeug reads it alike)


@pytest.mark.parametrize("seed", range(60))
def test_bodies_as_clients_write_them_are_split(seed: int) -> None:
    """requests' encoder and werkzeug's test encoder, with any payload that does not hold the boundary."""
    rng = random.Random(seed)
    fields = {"request": json.dumps({"label": "y", "n": rng.random()})}
    files: dict[str, Any] = {"data": (rng.choice(["d.csv", "d.arrow", ""]), rng.randbytes(rng.randrange(0, 5000)),
                                      rng.choice(["text/csv", "application/vnd.apache.arrow.stream"]))}
    if rng.random() < 0.5:
        files["other"] = ("o.txt", b"x" * rng.randrange(0, 100))
    prepared = requests.Request("POST", "http://x/", data=fields, files=files).prepare()
    content_type = prepared.headers["Content-Type"]
    boundary = content_type.split("boundary=", 1)[1]
    assert isinstance(prepared.body, bytes)
    assert _same(prepared.body, boundary, content_type)
    builder = EnvironBuilder(method="POST", data={**fields, "data": (io.BytesIO(files["data"][1]), "d.csv")})
    environ = builder.get_environ()
    raw = environ["wsgi.input"].read()
    werkzeug_type = environ["CONTENT_TYPE"]
    assert _same(raw, werkzeug_type.split("boundary=", 1)[1].strip('"'), werkzeug_type)


def test_limits_are_left_to_werkzeug() -> None:
    """More parts, or a larger text field, than the limits allow: split stands aside and werkzeug answers 413."""
    prepared = requests.Request("POST", "http://x/", data={"a": "x" * 100, "b": "y"},
                                files={"data": ("d.csv", b"1,2\n")}).prepare()
    content_type = prepared.headers["Content-Type"]
    boundary = content_type.split("boundary=", 1)[1]
    assert isinstance(prepared.body, bytes)
    assert split(bytearray(prepared.body), boundary, max_parts=2, max_field=1000) is None
    assert _werkzeug(prepared.body, content_type, 2, 1000) == "413"
    assert split(bytearray(prepared.body), boundary, max_parts=10, max_field=50) is None
    assert _werkzeug(prepared.body, content_type, 10, 50) == "413"
    assert split(bytearray(prepared.body), boundary, max_parts=3, max_field=100) is not None
    # a header block longer than a plain part's (a 20 KB file name): werkzeug reads it, split does not search on
    long_name = requests.Request("POST", "http://x/", files={"data": ("n" * 20_000 + ".csv", b"1,2\n")}).prepare()
    assert isinstance(long_name.body, bytes)
    long_type = long_name.headers["Content-Type"]
    assert split(bytearray(long_name.body), long_type.split("boundary=", 1)[1], max_parts=10, max_field=10**6) is None
    read = _werkzeug(long_name.body, long_type, 10, 10**6)
    assert not isinstance(read, str) and read[1]["data"].read() == b"1,2\n"


def test_the_largest_file_is_the_body_itself() -> None:
    """No copy of the file: its bytes are the body's buffer, trimmed to them."""
    prepared = requests.Request("POST", "http://x/", data={"request": "{}"},
                                files={"data": ("d.csv", b"g,y\n" * 1000)}).prepare()
    assert isinstance(prepared.body, bytes)
    body = bytearray(prepared.body)
    parts = split(body, prepared.headers["Content-Type"].split("boundary=", 1)[1], max_parts=10, max_field=100)
    assert parts is not None and parts.files["data"].data is body and body == b"g,y\n" * 1000


def test_an_upload_split_in_memory_audits_as_one_werkzeug_reads(client: FlaskClient,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    csv = b"race,y,pred\n" + b"a,1,1\nb,0,0\na,0,1\nb,1,1\n" * 50
    fields = json.dumps({"label": "y", "prediction": "pred", "protected": [{"attribute": "race"}]})
    prepared = requests.Request("POST", "http://x/", data={"request": fields},
                                files={"data": ("d.csv", csv, "text/csv")}).prepare()

    def post() -> dict[str, Any]:
        answer = client.post("/v1/audits/upload", data=prepared.body,
                             content_type=prepared.headers["Content-Type"])
        assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
        report: dict[str, Any] = json_of(answer)
        return report

    split_calls: list[bool] = []
    real_split = multipart.split

    def counting(*args: Any, **kwargs: Any) -> Any:
        parts = real_split(*args, **kwargs)
        split_calls.append(parts is not None)
        return parts

    monkeypatch.setattr("fairprobe.api.parser.split", counting)
    in_memory = post()
    monkeypatch.setattr("fairprobe.api.parser.split", lambda *_, **__: None)  # werkzeug reads every body
    by_werkzeug = post()
    assert split_calls == [True]
    assert in_memory["findings"] == by_werkzeug["findings"]
    assert in_memory["audit"]["input_sha256"] == by_werkzeug["audit"]["input_sha256"]
