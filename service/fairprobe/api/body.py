"""A request body must arrive within a deadline: a client sending one byte a second cannot hold a thread.

gunicorn's threaded worker guards the wait for a request's *headers*; the body is read by the app's thread,
with a blocking socket. This WSGI middleware gives every read of the body the time that is left of the
body's deadline (as the socket's timeout, where gunicorn exposes the socket) and turns a read past it into
a 408 problem.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fairprobe.errors import RequestTimeout

__all__ = ["BodyDeadline"]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _DeadlineInput:
    """``wsgi.input`` whose reads fail once ``deadline`` has passed."""

    def __init__(self, stream: Any, deadline: float, sock: socket.socket | None) -> None:
        self._stream = stream
        self._deadline = deadline
        self._socket = sock

    def _guarded(self, read: Callable[..., bytes], *args: Any) -> bytes:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            self._give_up()
        if self._socket is not None:
            self._socket.settimeout(remaining)
        try:
            return read(*args)
        except TimeoutError as exc:
            self._give_up(exc)
            raise  # unreachable: _give_up raises

    def _give_up(self, cause: BaseException | None = None) -> None:
        if self._socket is not None:
            self._socket.settimeout(0.001)  # the server's drain of the rest fails at once and closes the connection
        error = RequestTimeout("The request body did not arrive within the time this service allows.")
        raise error from cause

    def read(self, size: int = -1) -> bytes:
        return self._guarded(self._stream.read, size)

    def readline(self, size: int = -1) -> bytes:
        return self._guarded(self._stream.readline, size)

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
        if stream is not None:
            sock = environ.get("gunicorn.socket")
            environ["wsgi.input"] = _DeadlineInput(stream, time.monotonic() + self.timeout_s,
                                                   sock if isinstance(sock, socket.socket) else None)
        return self.app(environ, start_response)
