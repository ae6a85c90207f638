"""Per-request limits the schemas enforce, set by the API layer from the app's settings."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from marshmallow import ValidationError

__all__ = ["Limits", "check_probe_budget", "current_limits", "use_limits"]


@dataclass(frozen=True, slots=True)
class Limits:
    max_rows: int = 5_000_000
    max_levels: int = 1_000
    min_group_size: int = 30
    alpha: float = 0.05
    max_probes: int = 200_000
    max_concurrency: int = 32
    max_deadline_s: int = 240


_LIMITS: ContextVar[Limits] = ContextVar("fairprobe_limits", default=Limits())


def use_limits(limits: Limits) -> None:
    _LIMITS.set(limits)


def current_limits() -> Limits:
    return _LIMITS.get()


def check_probe_budget(probes: int, field: str) -> None:
    """Refuse (naming ``field``) a request that would send more probes than the service allows."""
    limit = current_limits().max_probes
    if probes > limit:
        raise ValidationError(f"this request would send {probes} probes; this service allows {limit}", field)
