"""The SDK's errors mirror the server's::

    FairprobeClientError
     ├── APIConnectionError            the service could not be reached
     │    └── APITimeoutError          ... within the timeout
     └── APIStatusError                the service answered with an RFC 9457 problem
          ├── BadRequestError          4xx not listed below (400, 405, 408, 413, 415)
          │    └── UnprocessableEntityError   422: a field's value cannot be used
          ├── AuthenticationError      401
          ├── NotFoundError            404
          ├── RateLimitError           429
          └── ServerError              5xx
               ├── ModelUnavailableError      502: the model endpoint answered no probe
               └── ServiceBusyError           503: retry later (``retry_after``)

Every status error carries the parsed ``problem``, the fields it names (``fields``) and the ``request_id``.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "FairprobeClientError",
    "ModelUnavailableError",
    "NotFoundError",
    "RateLimitError",
    "ServerError",
    "ServiceBusyError",
    "UnprocessableEntityError",
    "status_error",
]


class FairprobeClientError(Exception):
    """Root of every error the SDK raises."""


class APIConnectionError(FairprobeClientError):
    pass


class APITimeoutError(APIConnectionError):
    pass


class APIStatusError(FairprobeClientError):
    """The server's RFC 9457 problem: ``status``, ``problem`` (the parsed body), ``request_id``."""

    def __init__(self, status: int, problem: dict[str, Any], request_id: str | None,
                 retry_after: str | None = None) -> None:
        self.status = status
        self.problem = problem
        self.request_id = request_id
        self.retry_after = retry_after
        self.errors: list[dict[str, str]] = list(problem.get("errors") or [])
        detail = problem.get("detail") or problem.get("title") or "request failed"
        super().__init__(f"{status}: {detail} (request id {request_id})")

    @property
    def fields(self) -> list[str]:
        """The request fields the server named as wrong."""
        return [e.get("field", "") for e in self.errors]


class BadRequestError(APIStatusError):
    pass


class UnprocessableEntityError(BadRequestError):
    pass


class AuthenticationError(APIStatusError):
    pass


class NotFoundError(APIStatusError):
    pass


class RateLimitError(APIStatusError):
    pass


class ServerError(APIStatusError):
    pass


class ModelUnavailableError(ServerError):
    @property
    def accounting(self) -> dict[str, Any]:
        """What happened to every probe (the problem's ``accounting`` member)."""
        return dict(self.problem.get("accounting") or {})


class ServiceBusyError(ServerError):
    pass


_BY_STATUS: dict[int, type[APIStatusError]] = {
    401: AuthenticationError, 404: NotFoundError, 422: UnprocessableEntityError, 429: RateLimitError,
    502: ModelUnavailableError, 503: ServiceBusyError,
}


def status_error(status: int, problem: dict[str, Any], request_id: str | None,
                 retry_after: str | None = None) -> APIStatusError:
    """The error class for ``status``."""
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else BadRequestError)
    return cls(status, problem, request_id, retry_after)
