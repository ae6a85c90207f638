"""Prometheus metrics, the same across gunicorn's workers: HTTP traffic, verdicts, probes, model calls.

Each gunicorn worker is a process with its own memory, so per-process counters would go backwards as a
scraper lands on different workers. Under gunicorn (``gunicorn.conf.py`` sets ``PROMETHEUS_MULTIPROC_DIR``
to a memory-backed directory before any worker starts) every worker writes its values there and
``/metrics`` sums the files of all workers, dead ones included. Without that variable (tests, a single
process) one registry per app serves.

Labels carry routes, statuses, verdicts and failure reasons only: never an id, a name or a value.
"""

from __future__ import annotations

from collections import Counter as Tally
from typing import Any

from flask import Flask, Response, current_app
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

from fairprobe.settings import Settings

__all__ = ["Telemetry", "current", "init_app"]

EXTENSION = "fairprobe.telemetry"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 240)


class Telemetry:
    """The service's metrics; ``exposition()`` is what ``/metrics`` answers."""

    def __init__(self, metrics_dir: str | None) -> None:
        self.metrics_dir = metrics_dir
        # in multiprocess mode values go to files; this registry only keeps the names from clashing across apps
        self._own = CollectorRegistry()
        registry = self._own
        self.requests = Counter("fairprobe_http_requests_total", "HTTP requests by route, method and status",
                                ["route", "method", "status"], registry=registry)
        self.latency = Histogram("fairprobe_http_request_duration_seconds", "HTTP request latency by route",
                                 ["route", "method"], registry=registry, buckets=LATENCY_BUCKETS)
        self.verdicts = Counter("fairprobe_verdicts_total", "Reports by kind and verdict",
                                ["kind", "verdict"], registry=registry)
        self.findings = Counter("fairprobe_findings_total", "Findings by kind and status",
                                ["kind", "status"], registry=registry)
        self.probes = Counter("fairprobe_probes_total", "Probes sent to model endpoints, by outcome "
                              "('answered' or the failure reason)", ["kind", "outcome"], registry=registry)
        self.model_calls = Histogram("fairprobe_model_call_duration_seconds", "Calls to model endpoints by outcome "
                                     "(HTTP status or 'no_response')", ["outcome"], registry=registry,
                                     buckets=LATENCY_BUCKETS)

    def report(self, kind: str, report: Any) -> None:
        """Count a report's verdict, its findings by status, and its probes by outcome."""
        verdict = getattr(report, "verdict", None)
        if verdict is not None:
            self.verdicts.labels(kind, str(verdict)).inc()
        by_status = Tally(str(finding.status) for finding in getattr(report, "findings", ()))
        for status, count in by_status.items():  # one write per status: each is an mmap write under gunicorn
            self.findings.labels(kind, status).inc(count)
        accounting = getattr(report, "accounting", None) or getattr(report, "scoring", None)
        if accounting is not None:
            self.probes.labels(kind, "answered").inc(accounting.answered)
            for reason, count in accounting.failures.items():
                self.probes.labels(kind, reason).inc(count)

    def model_call(self, seconds: float, outcome: str) -> None:
        self.model_calls.labels(outcome).observe(seconds)

    def exposition(self) -> bytes:
        if self.metrics_dir is None:
            return bytes(generate_latest(self._own))
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=self.metrics_dir)  # type: ignore[no-untyped-call]
        return bytes(generate_latest(registry))


def current() -> Telemetry:
    telemetry: Telemetry = current_app.extensions[EXTENSION]
    return telemetry


def init_app(app: Flask, settings: Settings) -> Telemetry:
    telemetry = Telemetry(settings.metrics_dir)
    app.extensions[EXTENSION] = telemetry

    @app.get("/metrics")
    def prometheus_metrics() -> Response:
        """Prometheus exposition: every worker's counters summed (multiprocess mode under gunicorn)."""
        return Response(telemetry.exposition(), mimetype=CONTENT_TYPE_LATEST.split(";")[0])

    return telemetry
