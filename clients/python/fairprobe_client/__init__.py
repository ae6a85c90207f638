"""Python SDK for the fairprobe service: ``Client(base_url).audit(frame, ...)`` returns a typed report."""

from importlib.metadata import version

from fairprobe_client._aggregate import aggregate
from fairprobe_client._client import DEFAULT_RETRIES, DEFAULT_TIMEOUT, DEFAULT_URL, Client, Progress
from fairprobe_client._exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    FairprobeClientError,
    ModelUnavailableError,
    NotFoundError,
    RateLimitError,
    ServerError,
    ServiceBusyError,
    UnprocessableEntityError,
)
from fairprobe_client._models import (
    Accounting,
    AuditReport,
    Catalogue,
    DiagnosticSection,
    DiscriminationReport,
    Disparity,
    Estimate,
    Finding,
    MetricInfo,
    NameBank,
    ProbeReport,
    Report,
    SkippedSection,
    StressReport,
)

__version__ = version("fairprobe-client")

__all__ = [
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT",
    "DEFAULT_URL",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "Accounting",
    "AuditReport",
    "AuthenticationError",
    "BadRequestError",
    "Catalogue",
    "Client",
    "DiagnosticSection",
    "DiscriminationReport",
    "Disparity",
    "Estimate",
    "FairprobeClientError",
    "Finding",
    "MetricInfo",
    "ModelUnavailableError",
    "NameBank",
    "NotFoundError",
    "ProbeReport",
    "Progress",
    "RateLimitError",
    "Report",
    "ServerError",
    "ServiceBusyError",
    "SkippedSection",
    "StressReport",
    "UnprocessableEntityError",
    "__version__",
    "aggregate",
]
