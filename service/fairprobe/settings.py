"""Service settings: one frozen object, read from ``FAIRPROBE_*`` variables inside the app factory."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["Settings", "SettingsError"]

PREFIX = "FAIRPROBE_"


class SettingsError(ValueError):
    """A ``FAIRPROBE_*`` variable holds a value the service cannot use."""


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    raw = env.get(PREFIX + name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{PREFIX}{name} must be an integer, got {raw!r}") from exc
    if value < minimum:
        raise SettingsError(f"{PREFIX}{name} must be at least {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, *, low: float, high: float) -> float:
    raw = env.get(PREFIX + name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise SettingsError(f"{PREFIX}{name} must be a number, got {raw!r}") from exc
    if not low < value < high:
        raise SettingsError(f"{PREFIX}{name} must lie strictly between {low} and {high}, got {value}")
    return value


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = env.get(PREFIX + name, "")
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _targets(env: Mapping[str, str]) -> tuple[str, ...]:
    entries = _list(env, "ALLOWED_TARGETS")
    for entry in entries:
        if "/" in entry:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError as exc:
                raise SettingsError(f"{PREFIX}ALLOWED_TARGETS: {entry!r} is not a CIDR network") from exc
    return entries


@dataclass(frozen=True)
class Settings:
    """Limits, keys and defaults of one running service.

    Attributes
    ----------
    api_keys
        Bearer keys accepted on every endpoint but health; empty means no authentication.
    max_body_bytes
        Largest request body accepted (413 above it).
    max_rows
        Largest number of rows (or counts-table rows) in one audit (422 above it).
    min_group_size
        Default minimum group size below which a finding is ``inconclusive``.
    alpha
        Default significance level for a ``fail`` after Benjamini–Hochberg adjustment.
    allowed_targets
        Hosts and CIDR networks that outbound model calls may reach despite the SSRF rules.
    max_probes
        Largest number of probes (model calls' records) one request may send.
    max_concurrency
        Largest number of concurrent calls to one model endpoint.
    max_deadline_s
        Longest overall deadline a request may set for its model calls (keep gunicorn's timeout above it).
    max_response_bytes
        Largest model response body read; larger answers fail as ``response_too_large``.
    log_level
        Level of the JSON request log.
    max_groups
        Most groups (every value of every attribute and intersection) one audit may measure (422 above).
    max_findings
        Most findings (rules x groups) one audit may judge (422 above).
    max_long_requests
        Most requests that call a model endpoint (probes, stress tests, searches, model-backed audits) one
        worker process runs at once; more get 503 with Retry-After, so health checks and small audits keep
        their threads.
    analysis_slots
        Most CPU-bound analyses (dataset audits without a model) one worker process runs at once; the
        others wait their turn. A process computes on one core at a time (the GIL), so more at once only
        adds switching between them and spreads every request's latency.
    body_timeout_s
        Longest time a request body may take to arrive (408 after it): a client trickling bytes cannot hold
        a thread for longer.
    metrics_dir
        ``PROMETHEUS_MULTIPROC_DIR``: where every worker writes its metrics so ``/metrics`` sums them.
    """

    api_keys: frozenset[str] = field(default_factory=frozenset)
    max_body_bytes: int = 256 * 1024 * 1024
    max_rows: int = 5_000_000
    min_group_size: int = 30
    alpha: float = 0.05
    allowed_targets: tuple[str, ...] = ()
    max_probes: int = 200_000
    max_concurrency: int = 32
    max_deadline_s: int = 240  # below gunicorn.conf.py timeout (300 s), with room for the analysis
    max_response_bytes: int = 16 * 1024 * 1024
    log_level: str = "INFO"
    max_groups: int = 2_000  # AIF360 costs about 1.7 ms per group: 2,000 groups is about 3.5 s
    max_findings: int = 20_000
    max_long_requests: int = 4  # per worker process: leaves gunicorn's other threads for health and audits
    analysis_slots: int = 1  # per worker process: one core's worth of Python at a time
    body_timeout_s: float = 60.0
    metrics_dir: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``FAIRPROBE_*`` variables (``os.environ`` unless given)."""
        env = os.environ if environ is None else environ
        level = env.get(PREFIX + "LOG_LEVEL", "INFO").upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise SettingsError(f"{PREFIX}LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {level!r}")
        return cls(
            api_keys=frozenset(_list(env, "API_KEYS")),
            max_body_bytes=_int(env, "MAX_BODY_BYTES", cls.max_body_bytes, minimum=1024),
            max_rows=_int(env, "MAX_ROWS", cls.max_rows, minimum=1),
            min_group_size=_int(env, "MIN_GROUP_SIZE", cls.min_group_size, minimum=1),
            alpha=_float(env, "ALPHA", cls.alpha, low=0.0, high=1.0),
            allowed_targets=_targets(env),
            max_probes=_int(env, "MAX_PROBES", cls.max_probes, minimum=1),
            max_concurrency=_int(env, "MAX_CONCURRENCY", cls.max_concurrency, minimum=1),
            max_deadline_s=_int(env, "MAX_DEADLINE_S", cls.max_deadline_s, minimum=1),
            max_response_bytes=_int(env, "MAX_RESPONSE_BYTES", cls.max_response_bytes, minimum=1024),
            log_level=level,
            max_groups=_int(env, "MAX_GROUPS", cls.max_groups, minimum=2),
            max_findings=_int(env, "MAX_FINDINGS", cls.max_findings, minimum=1),
            max_long_requests=_int(env, "MAX_LONG_REQUESTS", cls.max_long_requests, minimum=1),
            analysis_slots=_int(env, "ANALYSIS_SLOTS", cls.analysis_slots, minimum=1),
            body_timeout_s=float(_int(env, "BODY_TIMEOUT_S", int(cls.body_timeout_s), minimum=1)),
            metrics_dir=env.get("PROMETHEUS_MULTIPROC_DIR") or None,
        )
