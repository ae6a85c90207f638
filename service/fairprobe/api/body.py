"""A request body must arrive within a deadline: a client sending one byte a second cannot hold a thread.

gunicorn's threaded worker guards the wait for a request's *headers*; the body is read by the app's thread
from a blocking socket, and gunicorn's reader loops until it has the bytes it was asked for, so a client
trickling a byte a second never trips a per-read timeout. This WSGI middleware therefore arms a timer for
each request with a body: when the body's deadline passes, the timer shuts the socket's read side (the
blocked read returns at once) and the read is turned into a 408 problem. The response can still be sent.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fairprobe.errors import RequestTimeout

__all__ = ["BodyDeadline"]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _Watchdog:
    """One thread per process that expires every request body's deadline when it passes (a timer thread per
    request would cost a thread start on every request)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._deadlines: list[tuple[float, int, _DeadlineInput]] = []
        self._owner = -1  # the process whose thread runs: a forked worker starts its own
        self._count = itertools.count()

    def watch(self, body: _DeadlineInput) -> None:
        with self._condition:
            if self._owner != os.getpid():
                self._owner = os.getpid()
                self._deadlines.clear()
                threading.Thread(target=self._run, name="fairprobe-body-deadlines", daemon=True).start()
            heapq.heappush(self._deadlines, (body.deadline, next(self._count), body))
            self._condition.notify()

    def _run(self) -> None:
        with self._condition:
            while True:
                while self._deadlines and self._deadlines[0][2].done:
                    heapq.heappop(self._deadlines)  # finished in time: forgotten
                if not self._deadlines:
                    self._condition.wait()
                    continue
                wait = self._deadlines[0][0] - time.monotonic()
                if wait > 0:
                    self._condition.wait(wait)
                    continue
                heapq.heappop(self._deadlines)[2].expire()


_WATCHDOG = _Watchdog()


class _DeadlineInput:
    """``wsgi.input`` that fails with 408 once its deadline has passed (and then stops the socket's reads).

    It also reads the server's stream in blocks of ``BLOCK`` bytes and serves smaller reads from the block:
    werkzeug reads a body 64 KiB at a time, and gunicorn copies its whole read-ahead buffer (up to 1 MiB)
    on every such read, so a 12 MiB upload took ~16 ms to read instead of ~3.
    """

    #: the most read from the server's stream at once for reads smaller than it
    BLOCK = 4 << 20

    def __init__(self, stream: Any, timeout_s: float, sock: socket.socket | None, length: int | None = None) -> None:
        self._stream = stream
        self._unread = length  # what the server's stream still holds, when the request says (else no blocks)
        self.deadline = time.monotonic() + timeout_s
        self._socket = sock
        self.expired = False
        self.done = False
        self._block = b""
        self._at = 0
        _WATCHDOG.watch(self)

    def expire(self) -> None:
        if self.done:  # finished as its deadline came
            return
        self.expired = True
        if self._socket is not None:
            with contextlib.suppress(OSError):  # already closed by the client: nothing to stop
                self._socket.shutdown(socket.SHUT_RD)  # a read blocked on the trickle returns now

    def cancel(self) -> None:
        self.done = True

    def _guarded(self, read: Callable[..., bytes], *args: Any) -> bytes:
        if self.expired or time.monotonic() > self.deadline:
            self._give_up()
        try:
            data = read(*args)
        except OSError as exc:  # the socket was shut, or timed out
            self._give_up(exc)
            raise  # unreachable: _give_up raises
        if self.expired:
            self._give_up()
        return data

    def _give_up(self, cause: BaseException | None = None) -> None:
        self.expired = True
        error = RequestTimeout("The request body did not arrive within the time this service allows.")
        raise error from cause

    def _buffered(self) -> int:
        return len(self._block) - self._at

    def _take(self, size: int) -> bytes:
        data = self._block[self._at:self._at + size]
        self._at += len(data)
        return data

    def _from_server(self, size: int | None = None) -> bytes:
        """At most ``size`` bytes (all that is left without) from the server's stream, never past the body's
        declared length: a development server's stream is the socket itself, where a read past it waits."""
        if self._unread is not None:
            size = self._unread if size is None else min(size, self._unread)
            if size <= 0:
                return b""
        data = self._guarded(self._stream.read) if size is None else self._guarded(self._stream.read, size)
        if self._unread is not None:
            self._unread -= len(data)
        return data

    def _fill(self) -> bool:
        """The next block of the body; False at its end."""
        self._block, self._at = self._from_server(self.BLOCK), 0
        return bool(self._block)

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:  # the rest of the body
            return self._take(self._buffered()) + self._from_server()
        if not self._buffered():
            if size >= self.BLOCK or self._unread is None:  # large, or of unknown length: as asked
                return self._from_server(size)
            if not self._fill():
                return b""
        return self._take(size)

    def readline(self, size: int | None = -1) -> bytes:
        if self._unread is None and not self._buffered():
            return self._guarded(self._stream.readline, -1 if size is None else size)
        line = b""
        while size is None or size < 0 or len(line) < size:
            if not self._buffered() and not self._fill():
                break
            end = self._block.find(b"\n", self._at)
            want = self._buffered() if end < 0 else end + 1 - self._at
            if size is not None and size >= 0:
                want = min(want, size - len(line))
            line += self._take(want)
            if line.endswith(b"\n"):
                break
        return line

    def readlines(self, hint: int = -1) -> list[bytes]:
        lines = []
        while line := self.readline():
            lines.append(line)
        return lines

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line


class BodyDeadline:
    """WSGI middleware: the body of every request must arrive within ``timeout_s`` of the request's start."""

    def __init__(self, app: WSGIApp, timeout_s: float) -> None:
        self.app = app
        self.timeout_s = timeout_s

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        stream = environ.get("wsgi.input")
        has_body = environ.get("CONTENT_LENGTH") not in (None, "", "0") or \
            "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if stream is None or not has_body:
            return self.app(environ, start_response)
        sock = environ.get("gunicorn.socket")
        length = environ.get("CONTENT_LENGTH") or ""
        guarded = _DeadlineInput(stream, self.timeout_s, sock if isinstance(sock, socket.socket) else None,
                                 int(length) if length.isdigit() else None)
        environ["wsgi.input"] = guarded
        try:
            return self.app(environ, start_response)
        finally:
            guarded.cancel()  # the app has read what it reads before it returns its response
