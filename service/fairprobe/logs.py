"""Logging that cannot leak: one JSON object per line, and no value from a request ever printed.

Header values, request bodies and model replies reach log records in two ways: as a record's arguments
(``log.info("got %s", value)``, which third-party libraries do) and inside exception messages of a
traceback (``requests`` quotes a bad header value in its error). So the formatter, for every record of
every logger:

- prints fairprobe's own messages (constant strings by convention) and, for other loggers, the message
  *template* with only numeric arguments filled in (``<redacted>`` for the rest);
- prints only the extra fields fairprobe puts there on purpose (request id, method, route, status, ...);
- prints a traceback as exception *types* and *frames* (file, line, function), never an exception's
  message or a frame's source line or locals.

``configure`` installs it on fairprobe's logger and on the root logger, and ``GUNICORN_LOGCONFIG`` on
gunicorn's, so every line the service writes goes through it.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from types import TracebackType
from typing import Any

__all__ = ["GUNICORN_LOGCONFIG", "SafeJsonFormatter", "configure", "safe_exception"]

#: record attributes fairprobe sets with ``extra=`` and that may be printed: ids, routes, numbers, names
FIELDS = ("request_id", "method", "path", "status", "duration_ms", "bytes_in", "error_type", "worker_pid")
REDACTED = "<redacted>"
_OURS = "fairprobe"
#: gunicorn's lifecycle messages, whose arguments are its own version, address, worker class, signal or pid
#: (never request data): they are printed whole. Any other template gets numeric arguments only.
SAFE_TEMPLATES = frozenset({
    "Starting gunicorn %s", "Listening at: %s (%s)", "Using worker: %s", "Booting worker with pid: %s",
    "Worker exiting (pid: %s)", "Handling signal: %s", "Shutting down: %s", "WORKER TIMEOUT (pid:%s)",
    "Worker (pid:%s) was sent SIGKILL! Perhaps out of memory?", "Worker (pid:%s) exited with code %s",
    "Worker (pid:%s) was sent code %s!",
})


def safe_exception(exc_info: tuple[type[BaseException], BaseException, TracebackType | None] | BaseException
                   ) -> dict[str, Any]:
    """An exception as its type and stack frames (and those of its causes): no message, no source, no locals."""
    error: BaseException | None = exc_info if isinstance(exc_info, BaseException) else exc_info[1]
    chain: list[dict[str, Any]] = []
    seen: set[int] = set()
    while error is not None and id(error) not in seen and len(chain) < 10:
        seen.add(id(error))
        frames = [f"{frame.filename}:{frame.lineno} in {frame.name}"
                  for frame in traceback.extract_tb(error.__traceback__, limit=50)]
        chain.append({"type": f"{type(error).__module__}.{type(error).__qualname__}", "frames": frames})
        error = error.__cause__ or error.__context__
    return {"exception": chain}


def _safe_message(record: logging.LogRecord) -> str:
    if record.name == _OURS or record.name.startswith(_OURS + "."):
        return str(record.msg)  # fairprobe logs constant messages; values go into the printed fields
    if not record.args:
        return str(record.msg)[:300] if isinstance(record.msg, str) else type(record.msg).__name__
    args = record.args if isinstance(record.args, tuple) else (record.args,)
    shown: tuple[object, ...]
    if record.msg in SAFE_TEMPLATES and record.name.startswith("gunicorn."):
        shown = tuple(str(a)[:200] for a in args)
    else:
        shown = tuple(a if isinstance(a, int | float) and not isinstance(a, bool) else REDACTED for a in args)
    try:
        return str(record.msg) % shown
    except (TypeError, ValueError, KeyError):
        return str(record.msg)[:300]


class SafeJsonFormatter(logging.Formatter):
    """One JSON object per line with only what fairprobe prints on purpose (see the module docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": _safe_message(record),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info and record.exc_info[1] is not None:
            entry.update(safe_exception(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=lambda _: REDACTED)


class StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stdout`` is when a record is emitted (gunicorn, pytest capture)."""

    @property
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def _handler() -> logging.Handler:
    handler = StdoutHandler()
    handler.setFormatter(SafeJsonFormatter())
    handler._fairprobe = True  # type: ignore[attr-defined]
    return handler


def configure(level: str) -> None:
    """fairprobe's logger at ``level`` and the root logger (warnings and up) write safe JSON lines to stdout."""
    ours = logging.getLogger(_OURS)
    ours.setLevel(level)
    ours.propagate = False
    for logger in (ours, logging.getLogger()):
        if not any(getattr(h, "_fairprobe", False) for h in logger.handlers):
            logger.addHandler(_handler())


#: gunicorn's ``logconfig_dict``: its error log (and any logger it configures) as safe JSON on stderr
GUNICORN_LOGCONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "fairprobe.logs.SafeJsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    # the root logger is the app's to configure (``configure``): none here, so no record is written twice
    "root": {"level": "WARNING", "handlers": []},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False, "qualname": "gunicorn.error"},
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False, "qualname": "gunicorn.access"},
    },
}
