"""A model endpoint as data: where it is, how to talk to it, and what every probe sent to it became."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, Protocol

from fairprobe.domain.groups import Label

__all__ = [
    "Accounting",
    "EndpointSpec",
    "Format",
    "FormatOptions",
    "Output",
    "ProbeFailure",
    "Scored",
    "Scorer",
]


class Format(StrEnum):
    """Request/response shapes of the model servers fairprobe speaks to."""

    JSON = "json"
    MLFLOW = "mlflow"
    KSERVE_V1 = "kserve-v1"
    KSERVE_V2 = "kserve-v2"
    OPENAI_CHAT = "openai-chat"
    CSV = "csv"


class Output(StrEnum):
    SCORE = "score"  # a number; the decision is score >= threshold
    LABEL = "label"  # a class; the decision is label == positive_label
    SEGMENT = "segment"  # one of k segments; the decision is placement in a valuable segment
    LIST = "list"  # a ranked list of items; the score is the DCG-weighted share of high-value items


class ProbeFailure(StrEnum):
    """Why a probe got no usable answer. Every probe sent is answered or failed with one of these."""

    TIMEOUT = "timeout"
    DEADLINE = "deadline_exceeded"
    CONNECTION = "connection_error"
    RATE_LIMITED = "rate_limited"
    HTTP_ERROR = "http_error"
    REDIRECT = "redirect_refused"
    TOO_LARGE = "response_too_large"
    INVALID_RESPONSE = "invalid_response"
    WRONG_LENGTH = "wrong_length"
    INVALID_VALUE = "invalid_value"
    UNPARSEABLE_REPLY = "unparseable_reply"
    INVALID_REQUEST = "invalid_request"  # the HTTP library refused to send it (a header or URL it rejects)
    ABANDONED = "abandoned"  # not sent: calls in a row got the same client error (see ``gave_up``)


@dataclass(frozen=True, slots=True)
class FormatOptions:
    """Per-format knobs; each preset reads the ones that concern it (see ``endpoints.formats``)."""

    fields: tuple[str, ...] | None = None
    body_template: Any = None
    record_template: Any = None
    response_path: str | None = None
    output_index: int | None = None
    output_name: str | None = None
    input_name: str = "input-0"
    mlflow_orient: Literal["split", "records"] = "split"
    model: str | None = None
    system_prompt: str | None = None
    prompt: str | None = None
    extract_regex: str | None = None
    extract_json_field: str | None = None
    temperature: float = 0.0
    csv_header: bool = True
    keep_lists: bool = False  # a list answer is the value itself (ranked items), not class probabilities


@dataclass(frozen=True, slots=True)
class EndpointSpec:
    """Where the model is and how to call it. ``headers`` carry credentials: never logged or echoed."""

    url: str
    format: Format
    options: FormatOptions
    output: Output
    threshold: float
    positive_label: Label
    method: Literal["POST", "PUT"] = "POST"
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    batch_size: int = 100
    concurrency: int = 4
    timeout_s: float = 10.0
    deadline_s: float = 120.0
    retries: int = 2
    favorable: Literal["positive", "negative"] = "positive"  # which decision benefits the person
    valuable: tuple[Label, ...] = ()  # output segment: the segments that benefit the person
    high_value_items: tuple[Label, ...] = ()  # output list: the items that count as high-value

    @property
    def favorable_is_positive(self) -> bool:
        return self.favorable == "positive"


@dataclass(frozen=True, slots=True)
class Accounting:
    """What happened to the probes of one run: ``sent == answered + failed``, always."""

    sent: int
    answered: int
    failed: int
    failures: Mapping[str, int]
    http_statuses: Mapping[str, int]
    requests: int
    retries: int
    elapsed_s: float
    deadline_s: float
    retries_denied: int = 0  # retries not made because the request's retry budget was spent
    gave_up: str | None = None  # why the rest were not sent, when calls kept failing the same way

    @property
    def partial(self) -> bool:
        return self.failed > 0

    def as_dict(self) -> dict[str, Any]:
        """As the report's ``accounting`` member (for a problem body)."""
        return {"sent": self.sent, "answered": self.answered, "failed": self.failed, "partial": self.partial,
                "failures": dict(self.failures), "http_statuses": dict(self.http_statuses),
                "requests": self.requests, "retries": self.retries, "retries_denied": self.retries_denied,
                "gave_up": self.gave_up, "elapsed_s": self.elapsed_s, "deadline_s": self.deadline_s}


@dataclass(frozen=True, slots=True)
class Scored:
    """One answer per record, in order: a score (or 0/1 for labels) and a decision, or a failure; ``answers``
    keeps what the model said when it is more than a number (a segment, a list of items as a tuple)."""

    scores: tuple[float | None, ...]
    decisions: tuple[bool | None, ...]
    failures: tuple[ProbeFailure | None, ...]
    accounting: Accounting
    answers: tuple[Any, ...] = ()


class Scorer(Protocol):
    """What engines are handed to reach a model: records in, one answer (or failure) per record out."""

    def score(self, records: Sequence[Mapping[str, Any]]) -> Scored: ...
