"""Thin client for the fairprobe service: ``Client(base_url).audit(frame, ...)``."""

from fairprobe_client._client import DEFAULT_TIMEOUT, Client
from fairprobe_client._exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    FairprobeClientError,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "Client",
    "FairprobeClientError",
]
