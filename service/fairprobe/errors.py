"""One exception tree for every error a client can cause; ``problems`` renders it as RFC 9457."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FairprobeError",
    "FieldError",
    "InvalidRequest",
    "ModelUnavailable",
    "NotAuthenticated",
    "PayloadTooLarge",
    "RequestTimeout",
    "ServiceBusy",
    "UnsupportedMediaType",
    "ValidationFailed",
]


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field: ``field`` is a dotted path such as ``protected[0].reference``."""

    field: str
    message: str


class FairprobeError(Exception):
    """Root of every error fairprobe reports to a client."""

    status: int = 500
    slug: str = "internal-error"
    title: str = "Internal server error"
    retry_after: int | None = None  # seconds, sent as Retry-After

    def __init__(self, detail: str, *, errors: Sequence[FieldError] = (),
                 extensions: Mapping[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = tuple(errors)
        #: RFC 9457 extension members added to the problem body (plain JSON values)
        self.extensions = dict(extensions or {})


class InvalidRequest(FairprobeError):
    status = 400
    slug = "invalid-request"
    title = "The request could not be read"


class NotAuthenticated(FairprobeError):
    status = 401
    slug = "not-authenticated"
    title = "A valid API key is required"


class PayloadTooLarge(FairprobeError):
    status = 413
    slug = "payload-too-large"
    title = "The request body is larger than this service accepts"


class RequestTimeout(FairprobeError):
    """The request body did not arrive in time (408): a trickling client cannot hold a thread."""

    status = 408
    slug = "request-timeout"
    title = "The request body did not arrive in time"


class ServiceBusy(FairprobeError):
    """This worker runs as many model-calling requests as it may (503, with Retry-After)."""

    status = 503
    slug = "service-busy"
    title = "The service is busy with long-running requests"
    retry_after = 5


class UnsupportedMediaType(FairprobeError):
    status = 415
    slug = "unsupported-media-type"
    title = "Send application/json or multipart/form-data"


class ValidationFailed(FairprobeError):
    """The request was read but a field's value cannot be audited (422)."""

    status = 422
    slug = "validation-error"
    title = "The request has invalid fields"

    @classmethod
    def on(cls, field: str, message: str) -> ValidationFailed:
        """One field, one message: the common case."""
        return cls(f"{field}: {message}", errors=[FieldError(field, message)])


class ModelUnavailable(FairprobeError):
    """The model endpoint answered none of the probes, so there is nothing to judge (502).

    The problem carries the accounting (``sent``, ``failed`` by reason, HTTP statuses), so the caller sees
    what happened to every probe.
    """

    status = 502
    slug = "model-unavailable"
    title = "The model endpoint answered no probe"

    @classmethod
    def with_accounting(cls, what: str, accounting: Any) -> ModelUnavailable:
        """``accounting`` is a ``domain.endpoint.Accounting``; its failures go into the detail."""
        reasons = ", ".join(f"{k}: {v}" for k, v in accounting.failures.items()) or "none answered"
        return cls(f"none of the {accounting.sent} {what} was answered ({reasons})",
                   extensions={"accounting": accounting.as_dict()})
