"""The SDK's errors mirror the server's::

    FairprobeClientError
     ├── APIConnectionError        the service could not be reached
     │    └── APITimeoutError      ... within the timeout
     └── APIStatusError            the service answered 4xx/5xx with a problem+json body
"""

from __future__ import annotations

from typing import Any

__all__ = ["APIConnectionError", "APIStatusError", "APITimeoutError", "FairprobeClientError"]


class FairprobeClientError(Exception):
    """Root of every error the SDK raises."""


class APIConnectionError(FairprobeClientError):
    pass


class APITimeoutError(APIConnectionError):
    pass


class APIStatusError(FairprobeClientError):
    """The server's RFC 9457 problem: ``status``, ``problem`` (the parsed body), ``request_id``."""

    def __init__(self, status: int, problem: dict[str, Any], request_id: str | None) -> None:
        self.status = status
        self.problem = problem
        self.request_id = request_id
        self.errors: list[dict[str, str]] = list(problem.get("errors") or [])
        detail = problem.get("detail") or problem.get("title") or "request failed"
        super().__init__(f"{status}: {detail} (request id {request_id})")

    @property
    def fields(self) -> list[str]:
        """The request fields the server named as wrong."""
        return [e.get("field", "") for e in self.errors]
