"""The request body stream reads the server's stream in blocks and serves smaller reads from them: any mix of
reads, reads of everything and line reads gives back the body's bytes in order, and never asks the server's
stream for less than a block (werkzeug reads 64 KiB at a time; gunicorn copies its buffer on every read)."""

from __future__ import annotations

import io
import random

import pytest

from fairprobe.api.body import _DeadlineInput


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
        self.small_reads += size < min(_DeadlineInput.BLOCK, left)
        return super().read(size)


@pytest.mark.parametrize("seed", range(30))
def test_any_mix_of_reads_gives_the_body_in_order(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    monkeypatch.setattr(_DeadlineInput, "BLOCK", rng.choice([1, 7, 64, 1000]))
    body = bytes(rng.choice(b"ab\n") for _ in range(rng.randrange(0, 3000)))
    server = _Server(body)
    stream = _DeadlineInput(server, 60, None, len(body))
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
    stream = _DeadlineInput(server, 60, None, len(body))
    pieces = iter(lambda: stream.read(64 << 10), b"")
    assert b"".join(pieces) == body
    stream.cancel()
    assert len(server.reads) <= 4  # 10 MiB in 4 MiB blocks, then the end


def test_a_body_of_unknown_length_is_read_as_asked() -> None:
    """Without a declared length (a chunked body), reads go to the server's stream as they are asked."""
    body = b"line one\nline two\nrest"
    server = io.BytesIO(body)
    stream = _DeadlineInput(server, 60, None, None)
    assert stream.readline() == b"line one\n"
    assert stream.read(4) == b"line"
    assert server.tell() == 13  # nothing read ahead
    assert stream.read() == b" two\nrest"
    stream.cancel()
