"""The client: one ``requests.Session`` with retries, every call with a timeout, typed results, errors by status."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import numpy as np
import pandas as pd
import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from fairprobe_client._aggregate import COUNT, aggregate, engine_of
from fairprobe_client._exceptions import APIConnectionError, APITimeoutError, status_error
from fairprobe_client._models import (
    AuditReport,
    Catalogue,
    DiscriminationReport,
    MetricInfo,
    NameBank,
    ProbeReport,
    Report,
    StressReport,
    load,
)

__all__ = ["DEFAULT_RETRIES", "DEFAULT_TIMEOUT", "DEFAULT_URL", "MAX_RETRY_WAIT", "Client", "Progress"]

DEFAULT_TIMEOUT = 60.0
DEFAULT_RETRIES = 2
DEFAULT_URL = "http://127.0.0.1:8000"
NDJSON = "application/x-ndjson"
HTML = "text/html"
#: statuses worth retrying: rate limited, and the service or the model endpoint briefly unavailable
RETRY_STATUSES = (429, 502, 503, 504)
#: the longest wait between two tries, whatever a Retry-After header asks for (seconds)
MAX_RETRY_WAIT = 60.0
#: the longest URL-encoded audit fields sent in the query of an upload (gunicorn takes request lines of up to
#: 4094 bytes); longer fields go in a multipart form with the file
MAX_QUERY_FIELDS = 3000
_EMBEDDED = re.compile(r'<script type="application/json" id="fairprobe-report">(.*?)</script>', re.DOTALL)

Progress = Callable[[dict[str, Any]], None]
R = TypeVar("R", bound=Report)
Operation = Literal["audit", "name_swap", "flip", "stress", "discrimination"]
#: each report-returning operation: its path and the report it answers with
OPERATIONS: dict[str, tuple[str, type[Report]]] = {
    "audit": ("/v1/audits", AuditReport),
    "name_swap": ("/v1/probes/name-swap", ProbeReport),
    "flip": ("/v1/probes/flip", ProbeReport),
    "stress": ("/v1/stress", StressReport),
    "discrimination": ("/v1/stress/discrimination", DiscriminationReport),
}
#: rows to send: a DataFrame, records (``frame.to_dict("records")`` too), or the path of a CSV file
Data = pd.DataFrame | Sequence[Mapping[Any, Any]] | str | Path


def _plain(value: Any) -> Any:
    """A cell as JSON: missing values (None, NaN, pandas NA/NaT) become null, timestamps ISO text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, pd.Timedelta | dt.timedelta):
        return str(value)
    return value


def _columns(frame: pd.DataFrame) -> dict[str, list[Any]]:
    """Columns as JSON-ready lists; a missing value is null, so the server can name the column that has it."""
    return {str(name): [_plain(v) for v in frame[name].tolist()] for name in frame.columns}


def _records(rows: Data) -> list[dict[str, Any]]:
    if isinstance(rows, pd.DataFrame):
        return [{str(k): _plain(v) for k, v in r.items()} for r in rows.to_dict("records")]
    if isinstance(rows, str | Path):
        return _records(pd.read_csv(rows))
    return [{str(k): _plain(v) for k, v in r.items()} for r in rows]


def _json_default(value: Any) -> Any:
    plain = _plain(value)
    if plain is value:
        raise TypeError(f"cannot send {type(value).__name__} as JSON")
    return plain


def _dumps(body: Any) -> str:
    return json.dumps(body, allow_nan=False, default=_json_default)


def report_of_page(page: str) -> dict[str, Any]:
    """The report JSON an HTML report page carries (every page the service renders embeds it)."""
    found = _EMBEDDED.search(page)
    if found is None:
        raise ValueError("the page carries no fairprobe report")
    return dict(json.loads(found.group(1)))  # the page escapes <, > and & inside JSON strings as \u003c ...


class _Retry(Retry):
    """urllib3's Retry, honouring Retry-After up to ``MAX_RETRY_WAIT`` (a header asking for an hour would
    otherwise hang the caller for an hour)."""

    def get_retry_after(self, response: Any) -> float | None:
        wait = super().get_retry_after(response)
        return None if wait is None else min(wait, MAX_RETRY_WAIT)


class Client:
    """A fairprobe service.

    Parameters
    ----------
    base_url
        The service; default ``$FAIRPROBE_URL`` or ``http://127.0.0.1:8000``.
    api_key
        Sent as a bearer token; default ``$FAIRPROBE_API_KEY``.
    timeout
        Seconds for each call unless the call says otherwise (give probes more than their ``deadline_s``).
    retries
        How many times a call is retried after a connection error or a 429, 502, 503 or 504 answer, waiting
        the server's ``Retry-After`` when it sends one (at most ``MAX_RETRY_WAIT`` seconds), else backing
        off exponentially from ``backoff`` seconds. A retried probe is sent to the model again.
    """

    def __init__(self, base_url: str | None = None, *, api_key: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT, retries: int = DEFAULT_RETRIES, backoff: float = 0.5) -> None:
        self.base_url = (base_url or os.environ.get("FAIRPROBE_URL") or DEFAULT_URL).rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()
        key = api_key if api_key is not None else os.environ.get("FAIRPROBE_API_KEY")
        if key:
            self._session.headers["Authorization"] = f"Bearer {key}"
        retry = _Retry(total=retries, connect=retries, read=0, status=retries, other=0,
                      status_forcelist=RETRY_STATUSES, allowed_methods=None, backoff_factor=backoff,
                      respect_retry_after_header=True, raise_on_status=False, raise_on_redirect=False)
        adapter = HTTPAdapter(max_retries=retry)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

    # ------------------------------------------------------------------ plumbing

    def request(self, method: str, path: str, *, timeout: float | None = None, stream: bool = False,
                **kwargs: Any) -> requests.Response:
        """One call, retried as configured; a 4xx/5xx answer raises the error class of its status."""
        limit = timeout or self.timeout
        try:
            response = self._session.request(method, self.base_url + path, timeout=limit, allow_redirects=False,
                                             stream=stream, **kwargs)
        except requests.Timeout as exc:
            raise APITimeoutError(f"no answer from {self.base_url} within {limit} s") from exc
        except requests.ConnectionError as exc:  # with a retry policy, a read timeout arrives wrapped
            reason = getattr(exc.args[0], "reason", None) if exc.args else None
            if isinstance(reason, ReadTimeoutError):
                raise APITimeoutError(f"no answer from {self.base_url} within {limit} s") from exc
            raise APIConnectionError(f"could not reach {self.base_url}: {exc}") from exc
        except requests.RequestException as exc:
            raise APIConnectionError(f"could not reach {self.base_url}: {exc}") from exc
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {"title": response.reason, "detail": response.text[:200]}
            raise status_error(response.status_code, problem, response.headers.get("X-Request-ID"),
                               response.headers.get("Retry-After"))
        return response

    def post_json(self, path: str, body: Mapping[str, Any], *, timeout: float | None = None,
                  progress: Progress | None = None) -> dict[str, Any]:
        """POST ``body`` and return the JSON answer; with ``progress``, stream NDJSON and call it per event."""
        return self._post(path, body, timeout=timeout, progress=progress, html=False)[0]

    def _post(self, path: str, body: Mapping[str, Any], *, timeout: float | None, progress: Progress | None,
              html: bool) -> tuple[dict[str, Any], str | None]:
        """The report, and its HTML page when ``html``: streamed as NDJSON when ``progress`` is given (an
        operation that does not stream answers whole), else one answer."""
        headers = {"Content-Type": "application/json",
                   "Accept": NDJSON if progress is not None else HTML if html else "application/json"}
        params = {"format": "html"} if html else None
        with self.request("POST", path, data=_dumps(body), headers=headers, params=params, timeout=timeout,
                          stream=progress is not None) as response:
            kind = response.headers.get("Content-Type", "")
            if kind.startswith(HTML):
                return report_of_page(response.text), response.text
            if not kind.startswith(NDJSON):
                return dict(response.json()), None
            for line in response.iter_lines():
                if not line:
                    continue
                event = json.loads(line)
                if event.get("event") == "progress" and progress is not None:
                    progress(event)
                elif event.get("event") == "report":
                    return dict(event["report"]), event.get("html")
                elif event.get("event") == "error":
                    problem = event.get("problem") or {}
                    raise status_error(int(problem.get("status", 500)), problem, problem.get("request_id"))
        raise APIConnectionError("the stream ended before the report arrived")

    def report(self, operation: Operation, body: Mapping[str, Any], *, timeout: float | None = None,
               progress: Progress | None = None, html: bool = False) -> Report:
        """Send ``body`` (the request's JSON, as the API documents it) to ``operation`` and read the report.

        ``operation`` is ``audit``, ``name_swap``, ``flip``, ``stress`` or ``discrimination``. With ``html``,
        the report's ``html`` holds the service's self-contained HTML page of it.
        """
        path, model = OPERATIONS[operation]
        return self._report(model, path, body, timeout, progress, html)

    def _report(self, model: type[R], path: str, body: Mapping[str, Any], timeout: float | None,
                progress: Progress | None, html: bool) -> R:
        data, page = self._post(path, body, timeout=timeout, progress=progress, html=html)
        report = load(model, data)
        object.__setattr__(report, "html", page)
        return report

    # ------------------------------------------------------------------ the service

    def health(self, *, timeout: float | None = None) -> dict[str, Any]:
        return dict(self.request("GET", "/healthz", timeout=timeout).json())

    def ready(self, *, timeout: float | None = None) -> dict[str, Any]:
        return dict(self.request("GET", "/readyz", timeout=timeout).json())

    def catalogue(self, *, timeout: float | None = None) -> Catalogue:
        """Every metric with its formula and source, and how a status is decided."""
        return load(Catalogue, self.request("GET", "/v1/metrics", timeout=timeout).json())

    def metrics(self, *, timeout: float | None = None) -> list[MetricInfo]:
        """The server's metric catalogue."""
        return self.catalogue(timeout=timeout).metrics

    def name_banks(self, *, timeout: float | None = None) -> list[NameBank]:
        """The server's name banks: groups, sizes, thresholds and sources."""
        return [load(NameBank, b) for b in self.request("GET", "/v1/name-banks", timeout=timeout).json()]

    def name_bank(self, bank_id: str, *, timeout: float | None = None) -> NameBank:
        path = "/v1/name-banks/" + quote(bank_id, safe="")
        return load(NameBank, self.request("GET", path, timeout=timeout).json())

    # ------------------------------------------------------------------ audits

    @staticmethod
    def audit_fields(*, protected: Sequence[str | Mapping[str, Any]], label: str | None = None,
                     prediction: str | None = None,
                     score: str | None = None, threshold: float | None = None, count: str | None = None,
                     weight: str | None = None, positive_label: Any = 1, negative_label: Any = None,
                     favorable: Any = None, intersections: Iterable[Sequence[str]] | None = None,
                     max_intersection_order: int | None = None, policy: Mapping[str, Any] | None = None,
                     **options: Any) -> dict[str, Any]:
        """An audit request's fields other than ``data``, as JSON; ``None`` leaves a field to its default."""
        body: dict[str, Any] = {
            "protected": [{"attribute": p} if isinstance(p, str) else dict(p) for p in protected],
            "positive_label": _plain(positive_label)}
        optional = {"label": label, "prediction": prediction, "score": score, "threshold": threshold, "count": count,
                    "weight": weight, "negative_label": _plain(negative_label), "favorable": _plain(favorable),
                    "policy": policy, "max_intersection_order": max_intersection_order,
                    "intersections": [list(c) for c in intersections] if intersections else None}
        body.update({k: v for k, v in optional.items() if v is not None})
        body.update(options)
        return body

    def audit_body(self, data: Data, *, protected: Sequence[str | Mapping[str, Any]], label: str | None = None,
                   **fields: Any) -> dict[str, Any]:
        """The JSON body of an audit of ``data`` (a DataFrame, records, or a CSV path): only named columns."""
        frame = data if isinstance(data, pd.DataFrame) else (
            pd.read_csv(data) if isinstance(data, str | Path) else pd.DataFrame.from_records(list(data)))
        body = self.audit_fields(label=label, protected=protected, **fields)
        used = [body.get(role) for role in ("label", "prediction", "score", "count", "weight")]
        used += [p["attribute"] for p in body["protected"]] + list(body.get("features") or [])
        used += [c["attribute"] for c in body.get("conditioning") or [] if isinstance(c, Mapping)]
        used += _output_columns(body)
        # a column the frame lacks is left for the server to name in its problem response
        names = list(dict.fromkeys(c for c in used if isinstance(c, str) and c in frame.columns))
        return {"data": {"columns": _columns(frame[names])}, **body}

    def audit(self, data: Data, *, protected: Sequence[str | Mapping[str, Any]], label: str | None = None,
              timeout: float | None = None, progress: Progress | None = None, html: bool = False,
              **fields: Any) -> AuditReport:
        """Audit ``data`` (a DataFrame, records, or a CSV path): its named columns are sent as JSON.

        ``protected`` items are column names (reference: the largest group) or objects such as
        ``{"attribute": "race", "reference": "Caucasian"}``; the other request fields (``prediction``,
        ``score`` + ``threshold``, ``count``, ``weight``, ``positive_label``, ``favorable``,
        ``intersections``, ``policy``, ``endpoint``, ``segment``, ``outcome``, ``ranking``, ``features``,
        ``conditioning``, ``diagnostics`` ...) are keyword arguments; ``label`` may be left out when the
        audit measures a segment, an outcome or a ranking. With ``html``, the report's ``html`` is the
        service's HTML page of it.
        """
        if not isinstance(data, pd.DataFrame | str | Path | list | tuple) and engine_of(data) != "pandas":
            # a Dask or PySpark frame: its engine computes the counts table; only counts are sent
            data, fields = _as_counts(data, label, protected, fields)
        body = self.audit_body(data, label=label, protected=protected, **fields)
        return self._report(AuditReport, "/v1/audits", body, timeout, progress, html)

    def upload_audit(self, csv: str | Path | bytes, *, protected: Sequence[str | Mapping[str, Any]],
                     label: str | None = None, timeout: float | None = None, html: bool = False,
                     **fields: Any) -> AuditReport:
        """Audit a CSV file as it is (``POST /v1/audits/upload``): the service parses it, so a large file
        needs no pandas here. ``csv`` is a path or the file's bytes; the fields are as for ``audit``.

        The file is sent as the request body with the fields in the query (no multipart encoding of the file
        on either side), unless the fields are too long for a URL: then as a multipart form."""
        content = csv if isinstance(csv, bytes) else Path(csv).read_bytes()
        fields_json = _dumps(self.audit_fields(label=label, protected=protected, **fields))
        headers = {"Accept": HTML if html else "application/json"}
        params = {"format": "html"} if html else {}
        if len(quote(fields_json)) <= MAX_QUERY_FIELDS:
            response = self.request("POST", "/v1/audits/upload", timeout=timeout, data=content,
                                    headers={**headers, "Content-Type": "text/csv"},
                                    params={**params, "request": fields_json})
        else:
            response = self.request("POST", "/v1/audits/upload", headers=headers, timeout=timeout,
                                    params=params or None,
                                    files={"request": (None, fields_json, "application/json"),
                                           "data": ("data.csv", content, "text/csv")})
        page = response.text if html else None
        report = load(AuditReport, report_of_page(response.text) if html else response.json())
        object.__setattr__(report, "html", page)
        return report

    # ------------------------------------------------------------------ model endpoints

    def name_swap(self, *, endpoint: Mapping[str, Any], profiles: Data, name_fields: Mapping[str, Any],
                  reference: str, timeout: float | None = None, progress: Progress | None = None,
                  html: bool = False, **options: Any) -> ProbeReport:
        """Probe a model endpoint with the profiles under names of each group (``POST /v1/probes/name-swap``).

        ``options`` are the other request fields (``bank``, ``groups``, ``names_per_group``, ``id_field``,
        ``policy``, ``seed``). Give ``timeout`` above the endpoint's ``deadline_s``; ``progress`` receives
        the streamed progress events.
        """
        body = {"endpoint": dict(endpoint), "profiles": {"records": _records(profiles)},
                "name_fields": dict(name_fields), "reference": reference, **options}
        return self._report(ProbeReport, "/v1/probes/name-swap", body, timeout, progress, html)

    def flip(self, *, endpoint: Mapping[str, Any], profiles: Data, flips: Sequence[Mapping[str, Any]],
             timeout: float | None = None, progress: Progress | None = None, html: bool = False,
             **options: Any) -> ProbeReport:
        """Probe a model endpoint with a protected attribute flipped (``POST /v1/probes/flip``)."""
        body = {"endpoint": dict(endpoint), "profiles": {"records": _records(profiles)}, "flips": list(flips),
                **options}
        return self._report(ProbeReport, "/v1/probes/flip", body, timeout, progress, html)

    def stress(self, *, endpoint: Mapping[str, Any], generator: Mapping[str, Any],
               groups: Sequence[Mapping[str, Any]], reference: str, timeout: float | None = None,
               progress: Progress | None = None, html: bool = False, **options: Any) -> StressReport:
        """Stress a model endpoint with synthetic profiles of target groups (``POST /v1/stress``)."""
        body = {"endpoint": dict(endpoint), "generator": dict(generator), "groups": list(groups),
                "reference": reference, **options}
        return self._report(StressReport, "/v1/stress", body, timeout, progress, html)

    def discrimination(self, *, endpoint: Mapping[str, Any], generator: Mapping[str, Any],
                       timeout: float | None = None, progress: Progress | None = None, html: bool = False,
                       **options: Any) -> DiscriminationReport:
        """Search for individual discrimination (``POST /v1/stress/discrimination``)."""
        body = {"endpoint": dict(endpoint), "generator": dict(generator), **options}
        return self._report(DiscriminationReport, "/v1/stress/discrimination", body, timeout, progress, html)


def _output_columns(body: Mapping[str, Any]) -> list[Any]:
    """The columns an audit's segment, outcome, ranking, time windows and candidate model name (sent with the
    roles)."""
    def part(key: str) -> Mapping[str, Any]:
        value = body.get(key)
        return value if isinstance(value, Mapping) else {}

    segment, outcome, ranking, time = part("segment"), part("outcome"), part("ranking"), part("time")
    names = [segment.get("column"), time.get("column"), part("compare").get("prediction"),
             *(outcome.get(k) for k in ("column", "sum", "sum_of_squares"))]
    names += [ranking.get(k) for k in ("customer", "item", "position", "category", "provider", "relevance")]
    high_value = ranking.get("high_value")
    names.append(high_value.get("column") if isinstance(high_value, Mapping) else None)
    return [n for n in names if n is not None]


def _as_counts(frame: Any, label: str | None, protected: Sequence[str | Mapping[str, Any]],
               fields: dict[str, Any]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A Dask or PySpark frame aggregated where it lives, and the request fields that read its counts."""
    if "weight" in fields or "count" in fields:
        raise ValueError("a Dask or PySpark frame is aggregated to counts: leave out weight and count")
    names = [p if isinstance(p, str) else str(p["attribute"]) for p in protected]
    segment = fields.get("segment", {}).get("column") if isinstance(fields.get("segment"), Mapping) else None
    outcome = fields.get("outcome", {}).get("column") if isinstance(fields.get("outcome"), Mapping) else None
    table = aggregate(frame, protected=names, label=label, prediction=fields.get("prediction"), segment=segment,
                      outcome=outcome, suppress_below=fields.pop("suppress_below", None))
    fields = {**fields, "count": COUNT}
    if outcome is not None:
        given = {k: v for k, v in fields["outcome"].items() if k != "column"}
        fields["outcome"] = {**given, "sum": f"{outcome}_sum", "sum_of_squares": f"{outcome}_sum_of_squares"}
    return table, fields
