"""Requests that wait on someone else's model: a bounded number per worker, and progress when asked for.

A probe, stress test, search or model-backed audit can take minutes. Each worker process runs at most
``max_long_requests`` of them at once (more get 503 with ``Retry-After``), so gunicorn's other threads stay
free for ``/healthz`` and small audits. A caller that sends ``Accept: application/x-ndjson`` gets one JSON
object per line while the work runs — ``{"event": "progress", "probes_done", "probes_sent", "elapsed_s"}``
— then ``{"event": "report", "report": ...}`` (or ``{"event": "error", "problem": ...}``). Nothing is kept
after the request: the events come from the request's own client, and end with it.

Analyses that only compute (a dataset audit without a model) take one of the worker's
``analysis_slots`` (:func:`analysis`), waiting their turn: the worker's threads then compute one at a
time instead of trading the GIL, which costs CPU and makes every request's latency as long as the slowest.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, request
from marshmallow import Schema

from fairprobe.api import telemetry
from fairprobe.api.negotiate import answer, wants_html
from fairprobe.endpoints import EndpointClient
from fairprobe.errors import FairprobeError, ServiceBusy
from fairprobe.problems import TYPE_BASE
from fairprobe.report.html import Kind, render
from fairprobe.settings import Settings

__all__ = ["NDJSON", "FifoSlots", "analysis", "init_app", "run_long"]

NDJSON = "application/x-ndjson"
EXTENSION = "fairprobe.long_work"
ANALYSIS = "fairprobe.analysis_slots"
#: how often a streamed request reports progress (and shows it is alive when nothing moved)
TICK_S = 0.5
HEARTBEAT_S = 5.0

Report = TypeVar("Report")
log = logging.getLogger("fairprobe.work")


def init_app(app: Flask, settings: Settings) -> None:
    app.extensions[EXTENSION] = threading.BoundedSemaphore(settings.max_long_requests)
    app.extensions[ANALYSIS] = FifoSlots(settings.analysis_slots)


class FifoSlots:
    """``slots`` holders at a time, the others served in arrival order.

    A freed slot is handed to the longest waiter, so a thread that arrives just then cannot take it first
    (``threading.Semaphore`` lets it: under load some requests would lose the race again and again, and
    their latency would make the slowest percentile).
    """

    def __init__(self, slots: int) -> None:
        self._free = slots
        self._lock = threading.Lock()
        self._waiting: collections.deque[threading.Lock] = collections.deque()

    def acquire(self) -> None:
        with self._lock:
            if self._free > 0 and not self._waiting:
                self._free -= 1
                return
            turn = threading.Lock()
            turn.acquire()
            self._waiting.append(turn)
        turn.acquire()  # released by the holder that hands this thread its slot

    def release(self) -> None:
        with self._lock:
            if self._waiting:
                self._waiting.popleft().release()  # the slot passes on without ever being free
            else:
                self._free += 1


@contextmanager
def analysis() -> Iterator[None]:
    """Hold one of this worker's analysis slots (waiting for one, in arrival order) while the block runs."""
    slots: FifoSlots = current_app.extensions[ANALYSIS]
    slots.acquire()
    try:
        yield
    finally:
        slots.release()


def _wants_stream() -> bool:
    """The caller named NDJSON in ``Accept`` and prefers it to JSON (a bare ``*/*`` gets the JSON report)."""
    accepted = request.accept_mimetypes
    return NDJSON in request.headers.get("Accept", "") and \
        accepted.quality(NDJSON) >= accepted.quality("application/json")


def run_long(kind: Kind, scorer: EndpointClient, run: Callable[[], Report], schema: Schema) -> Report | Response:
    """Run ``run`` (an engine calling ``scorer``) in one of the worker's long-work slots.

    Returns the report (the view's decorator dumps it), or a streamed NDJSON response when asked for.
    """
    slots: threading.BoundedSemaphore = current_app.extensions[EXTENSION]
    if not slots.acquire(blocking=False):
        raise ServiceBusy("This worker is running as many model-calling requests as it may; retry shortly.")
    metrics = telemetry.current()
    if not _wants_stream():
        try:
            report = run()
        finally:
            slots.release()
        metrics.report(kind, report)
        return answer(kind, report, schema)
    return _stream(kind, scorer, run, schema, slots, metrics)


def _stream(kind: Kind, scorer: EndpointClient, run: Callable[[], Any], schema: Schema,
            slots: threading.BoundedSemaphore, metrics: telemetry.Telemetry) -> Response:
    events: queue.Queue[tuple[str, Any]] = queue.Queue()
    progress = {"done": 0, "sent": 0}
    scorer.progress = lambda done, sent: progress.update(done=done, sent=sent)
    request_id, instance = g.get("request_id"), request.path
    encoder = current_app.json
    html = wants_html()

    def work() -> None:
        try:
            events.put(("report", run()))
        except FairprobeError as exc:
            events.put(("error", exc))
        except Exception as exc:
            log.error("unhandled error", exc_info=exc, extra={"request_id": request_id,
                                                              "error_type": type(exc).__name__})
            events.put(("error", None))
        finally:
            slots.release()

    def lines() -> Iterator[str]:
        started = time.monotonic()
        threading.Thread(target=work, name=f"fairprobe-{kind}", daemon=True).start()
        last, quiet_since = (-1, -1), started
        while True:
            try:
                what, value = events.get(timeout=TICK_S)
            except queue.Empty:
                now = time.monotonic()
                state = (progress["done"], progress["sent"])
                if state != last or now - quiet_since >= HEARTBEAT_S:
                    last, quiet_since = state, now
                    yield encoder.dumps({"event": "progress", "probes_done": state[0], "probes_sent": state[1],
                                         "elapsed_s": round(now - started, 2)}) + "\n"
                continue
            if what == "report":  # a last progress event first, so a progress bar ends full
                yield encoder.dumps({"event": "progress", "probes_done": progress["done"],
                                     "probes_sent": progress["sent"],
                                     "elapsed_s": round(time.monotonic() - started, 2)}) + "\n"
                metrics.report(kind, value)
                dumped = schema.dump(value)
                event = {"event": "report", "report": dumped}
                if html:  # ?format=html: the page too, so a streamed probe can still end in a report file
                    event["html"] = render(kind, dumped)
                yield encoder.dumps(event) + "\n"
            else:
                yield encoder.dumps({"event": "error", "problem": _problem(value, request_id, instance)}) + "\n"
            return

    return Response(lines(), mimetype=NDJSON, headers={"X-Request-ID": request_id or "",
                                                       "Cache-Control": "no-store"})


def _problem(error: FairprobeError | None, request_id: str | None, instance: str) -> dict[str, Any]:
    if error is None:
        return {"type": TYPE_BASE + "internal-error", "title": "Internal server error", "status": 500,
                "detail": "The service failed to process the request. Quote the request id when reporting it.",
                "instance": instance, "request_id": request_id}
    body: dict[str, Any] = {"type": TYPE_BASE + error.slug, "title": error.title, "status": error.status,
                            "detail": error.detail, "instance": instance, "request_id": request_id}
    if error.errors:
        body["errors"] = [{"field": e.field, "message": e.message} for e in error.errors]
    body.update({k: v for k, v in error.extensions.items() if k not in body})
    return body
