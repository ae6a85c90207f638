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
import io
import itertools
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from gunicorn.http.body import Body, LengthReader
from gunicorn.http.unreader import SocketUnreader

from fairprobe.errors import RequestTimeout

__all__ = ["BodyDeadline", "BodyInput"]

_T = TypeVar("_T")
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _Watchdog:
    """One thread per process that expires every request body's deadline when it passes (a timer thread per
    request would cost a thread start on every request)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._deadlines: list[tuple[float, int, BodyInput]] = []
        self._owner = -1  # the process whose thread runs: a forked worker starts its own
        self._count = itertools.count()

    def watch(self, body: BodyInput) -> None:
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


class BodyInput:
    """``wsgi.input`` that fails with 408 once its deadline has passed (and then stops the socket's reads).

    It also reads the server's stream in blocks of ``BLOCK`` bytes and serves smaller reads from the block:
    werkzeug reads a body 64 KiB at a time, and gunicorn copies its whole read-ahead buffer (up to 1 MiB)
    on every such read, so a 12 MiB upload took ~16 ms to read instead of ~3. A read of the whole rest of a
    body of declared length from gunicorn (``read()``) is received from the socket straight into one buffer.
    """

    #: the most read from the server's stream at once for reads smaller than it
    BLOCK = 4 << 20
    #: the most one receive into the body's buffer asks of the socket
    RECEIVE = 4 << 20
    #: the room made at once for a body received from the socket; a larger one's buffer doubles as its bytes
    #: arrive, so a client that declares a large body and sends little commits little of the service's memory
    EAGER = 16 << 20

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

    def _guarded(self, read: Callable[..., _T], *args: Any) -> _T:
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
        data: bytes = self._guarded(self._stream.read) if size is None else self._guarded(self._stream.read, size)
        if self._unread is not None:
            self._unread -= len(data)
        return data

    def _fill(self) -> bool:
        """The next block of the body; False at its end."""
        self._block, self._at = self._from_server(self.BLOCK), 0
        return bool(self._block)

    def _received(self) -> bytearray | None:
        """The rest of a body of declared length from gunicorn, received from its socket into one buffer;
        None from any other server (or should gunicorn's reader not be in the state this expects).

        gunicorn's own reader receives a MiB at a time and copies what it holds into a new buffer on each
        read: a 12 MiB body took ~9 ms to read that way, ~3 ms this way. What gunicorn has already taken
        from the socket (its read-ahead while parsing the head) comes first; anything it read past this
        body is handed back to it. Its reader is left with nothing of this body to read.
        """
        body, reader = self._stream, getattr(self._stream, "reader", None)
        if self._unread is None or not isinstance(body, Body) or not isinstance(reader, LengthReader) \
                or not isinstance(reader.unreader, SocketUnreader):
            return None
        pending = body.buf.getvalue()  # what an earlier read of gunicorn's left over
        if len(pending) + reader.length != self._unread:
            return None
        unreader = reader.unreader
        total = self._unread
        out = bytearray(min(total, self.EAGER))  # room for the rest is made as the bytes arrive
        out[:len(pending)] = pending
        at = len(pending)
        body.buf = io.BytesIO()
        ahead = unreader.take_buffered()
        used = min(len(ahead), total - at)
        out[at:at + used] = ahead[:used]
        if used < len(ahead):
            unreader.unread(ahead[used:])
        at += used
        reader.length -= used
        try:
            while at < total:
                if at >= len(out):  # the client has filled what it was given: twice the room, up to the rest
                    out.extend(bytes(min(total, 2 * len(out)) - len(out)))
                with memoryview(out) as view:
                    received = self._guarded(unreader.sock.recv_into, view[at:min(len(out), at + self.RECEIVE)])
                if not received:
                    break
                at += received
                reader.length -= received
        except BaseException:
            body.failed = True  # where the next request starts is unknown: gunicorn closes the connection
            raise
        self._unread -= at
        del out[at:]
        return out

    def read(self, size: int | None = -1) -> bytes | bytearray:
        if size is None or size < 0:  # the rest of the body
            head = self._take(self._buffered())
            rest = self._received()
            if rest is None:
                return head + self._from_server()
            rest[:0] = head
            return rest
        if not self._buffered():
            if size >= self.BLOCK or self._unread is None:  # large, or of unknown length: as asked
                return self._from_server(size)
            if not self._fill():
                return b""
        return self._take(size)

    def readline(self, size: int | None = -1) -> bytes:
        if self._unread is None and not self._buffered():
            whole: bytes = self._guarded(self._stream.readline, -1 if size is None else size)
            return whole
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
        guarded = BodyInput(stream, self.timeout_s, sock if isinstance(sock, socket.socket) else None,
                                 int(length) if length.isdigit() else None)
        environ["wsgi.input"] = guarded
        try:
            return self.app(environ, start_response)
        finally:
            guarded.cancel()  # the app has read what it reads before it returns its response
