"""The request body stream reads the server's stream in blocks and serves smaller reads from them: any mix of
reads, reads of everything and line reads gives back the body's bytes in order, and never asks the server's
stream for less than a block (werkzeug reads 64 KiB at a time; gunicorn copies its buffer on every read).
From gunicorn's own reader (its real classes on a real socket pair), the rest of a body is received into one
buffer, leaving gunicorn exactly the bytes of the next request."""

from __future__ import annotations

import io
import random
import socket
import threading
import time
import tracemalloc

import pytest
from gunicorn.http.body import Body, LengthReader
from gunicorn.http.unreader import SocketUnreader

from fairprobe.api.body import BodyInput
from fairprobe.errors import RequestTimeout


class _Server(io.BytesIO):
    """The server's ``wsgi.input``: counts the reads asked of it, and like a development server's socket,
    would wait forever (here: fails) when asked for more than the body holds."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data + b"NEXT REQUEST")
        self.length = len(data)
        self.reads: list[int | None] = []
        self.small_reads = 0  # reads of less than a block while more than that was left

    def read(self, size: int | None = -1) -> bytes:
        self.reads.append(size)
        left = self.length - self.tell()
        assert size is not None and 0 <= size <= left, f"asked for {size} bytes with {left} left"
        self.small_reads += size < min(BodyInput.BLOCK, left)
        return super().read(size)


@pytest.mark.parametrize("seed", range(30))
def test_any_mix_of_reads_gives_the_body_in_order(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    monkeypatch.setattr(BodyInput, "BLOCK", rng.choice([1, 7, 64, 1000]))
    body = bytes(rng.choice(b"ab\n") for _ in range(rng.randrange(0, 3000)))
    server = _Server(body)
    stream = BodyInput(server, 60, None, len(body))
    got = b""
    while True:
        kind = rng.choice(["read", "line", "line-capped", "all"])
        if kind == "read":
            chunk = stream.read(rng.randrange(1, 200))
        elif kind == "line":
            chunk = stream.readline()
            assert chunk.count(b"\n") <= 1 and (not chunk or chunk.endswith(b"\n") or len(got + chunk) == len(body))
        elif kind == "line-capped":
            chunk = stream.readline(rng.randrange(1, 50))
        else:
            chunk = stream.read()
        if not chunk:
            break
        got += chunk
    stream.cancel()
    assert got == body
    assert server.small_reads == 0  # a block at a time, or the rest of the body (never past it)


def test_a_large_body_read_in_small_pieces_takes_few_server_reads() -> None:
    body = b"x" * (10 << 20)
    server = _Server(body)
    stream = BodyInput(server, 60, None, len(body))
    pieces = iter(lambda: stream.read(64 << 10), b"")
    assert b"".join(pieces) == body
    stream.cancel()
    assert len(server.reads) <= 4  # 10 MiB in 4 MiB blocks, then the end


def test_a_body_of_unknown_length_is_read_as_asked() -> None:
    """Without a declared length (a chunked body), reads go to the server's stream as they are asked."""
    body = b"line one\nline two\nrest"
    server = io.BytesIO(body)
    stream = BodyInput(server, 60, None, None)
    assert stream.readline() == b"line one\n"
    assert stream.read(4) == b"line"
    assert server.tell() == 13  # nothing read ahead
    assert stream.read() == b" two\nrest"
    stream.cancel()


# --------------------------------------------------------------------------- from gunicorn's own reader


def _gunicorn_body(sock: socket.socket, length: int, ahead: bytes) -> tuple[Body, LengthReader, SocketUnreader]:
    """gunicorn's ``wsgi.input`` for a body of ``length`` on ``sock``, its reader already holding ``ahead``
    (what it received past the head while parsing it)."""
    unreader = SocketUnreader(sock)
    if ahead:
        unreader.unread(ahead)
    reader = LengthReader(unreader, length)
    return Body(reader), reader, unreader


def _send(sock: socket.socket, data: bytes, rng: random.Random, close: bool = False) -> threading.Thread:
    def run() -> None:
        at = 0
        while at < len(data):
            step = rng.choice([1, 100, 8192, 1 << 20])
            sock.sendall(data[at:at + step])
            at += step
        if close:
            sock.shutdown(socket.SHUT_WR)
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("seed", range(16))
def test_a_body_from_gunicorn_is_received_whole_and_the_next_request_stays_with_gunicorn(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rest of the body is received from the socket into one buffer, whatever gunicorn read ahead (none,
    part of the body, all of it and the next request), whatever was read through the stream first and however
    often the buffer grows; gunicorn is left with the next request's bytes and nothing of this body."""
    rng = random.Random(seed)
    monkeypatch.setattr(BodyInput, "EAGER", rng.choice([1, 1000, 1 << 20, BodyInput.EAGER]))
    body = rng.randbytes(rng.choice([0, 1, 5000, 3 << 20]))
    following = b"GET /healthz HTTP/1.1\r\n\r\n"
    wire = body + following
    ahead = wire[:rng.choice([0, 1, len(body) // 2, len(wire)])]
    server, client = socket.socketpair()
    with server, client:
        gunicorn_body, reader, unreader = _gunicorn_body(server, len(body), ahead)
        sender = _send(client, wire[len(ahead):], rng)
        stream = BodyInput(gunicorn_body, 60, server, len(body))
        first = stream.read(rng.choice([0, 10, 70_000])) if body else b""
        got = first + stream.read()
        sender.join()
        stream.cancel()
        assert got == body
        assert reader.length == 0 and gunicorn_body.read(100) == b""  # nothing of the body left to drain
        assert not gunicorn_body.failed
        assert unreader.read(len(following)) == following  # the next request, for gunicorn's parser


def test_the_fast_read_is_the_one_taken_from_gunicorn(monkeypatch: pytest.MonkeyPatch) -> None:
    """From gunicorn the rest of a body is received into one buffer (gunicorn's reader is not asked)."""
    body = random.Random(1).randbytes(2 << 20)
    server, client = socket.socketpair()
    with server, client:
        gunicorn_body, _, _ = _gunicorn_body(server, len(body), b"")
        monkeypatch.setattr(LengthReader, "read", lambda *_: pytest.fail("read through gunicorn's reader"))
        sender = _send(client, body, random.Random(2))
        stream = BodyInput(gunicorn_body, 60, server, len(body))
        got = stream.read()
        sender.join()
        stream.cancel()
        assert isinstance(got, bytearray) and got == body


def test_a_large_declared_body_that_does_not_arrive_commits_little_memory() -> None:
    """Room for a body is made as its bytes arrive: a client that declares 200 MB and sends 10 bytes makes the
    service hold ``EAGER`` bytes at most, not 200 MB."""
    server, client = socket.socketpair()
    with server, client:
        gunicorn_body, _, _ = _gunicorn_body(server, 200_000_000, b"")
        client.sendall(b"x" * 10)
        client.shutdown(socket.SHUT_WR)
        stream = BodyInput(gunicorn_body, 10, server, 200_000_000)
        tracemalloc.start()
        try:
            assert stream.read() == b"x" * 10
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        stream.cancel()
        assert peak <= BodyInput.EAGER + (1 << 20)


def test_a_body_from_gunicorn_that_stops_arriving_is_a_408_and_the_connection_is_not_reused() -> None:
    server, client = socket.socketpair()
    with server, client:
        gunicorn_body, _, _ = _gunicorn_body(server, 10_000, b"")
        client.sendall(b"x" * 100)  # then nothing more
        stream = BodyInput(gunicorn_body, 0.5, server, 10_000)
        started = time.monotonic()
        with pytest.raises(RequestTimeout):
            stream.read()
        assert time.monotonic() - started < 5
        assert gunicorn_body.failed


def test_a_body_from_gunicorn_cut_short_by_the_client_comes_back_short() -> None:
    """The caller (the parser) sees fewer bytes than declared and answers 400, as werkzeug would."""
    server, client = socket.socketpair()
    with server, client:
        gunicorn_body, _, _ = _gunicorn_body(server, 10_000, b"")
        _send(client, b"x" * 4000, random.Random(3), close=True).join()
        stream = BodyInput(gunicorn_body, 10, server, 10_000)
        assert stream.read() == b"x" * 4000
        stream.cancel()
