"""The client: one ``requests.Session``, every call with a timeout, errors translated once."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import requests

from fairprobe_client._exceptions import APIConnectionError, APIStatusError, APITimeoutError

__all__ = ["DEFAULT_TIMEOUT", "Client"]

DEFAULT_TIMEOUT = 60.0


def _columns(frame: pd.DataFrame) -> dict[str, list[Any]]:
    """Columns as JSON-ready lists; NaN becomes null so the server can name the column that has it."""
    out: dict[str, list[Any]] = {}
    for name in frame.columns:
        values = frame[name].tolist()
        out[str(name)] = [None if isinstance(v, float) and math.isnan(v) else v for v in values]
    return out


class Client:
    """A fairprobe service at ``base_url``; ``api_key`` is sent as a bearer token when given."""

    def __init__(self, base_url: str, *, api_key: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()
        if api_key:
            self._session.headers["Authorization"] = f"Bearer {api_key}"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

    def _request(self, method: str, path: str, *, timeout: float | None = None, **kwargs: Any) -> Any:
        try:
            response = self._session.request(
                method, self.base_url + path, timeout=timeout or self.timeout, allow_redirects=False, **kwargs
            )
        except requests.Timeout as exc:
            raise APITimeoutError(f"no answer from {self.base_url} within {timeout or self.timeout} s") from exc
        except requests.RequestException as exc:
            raise APIConnectionError(f"could not reach {self.base_url}: {exc}") from exc
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {"title": response.reason, "detail": response.text[:200]}
            raise APIStatusError(response.status_code, problem, response.headers.get("X-Request-ID"))
        return response.json()

    def health(self, *, timeout: float | None = None) -> dict[str, Any]:
        return dict(self._request("GET", "/healthz", timeout=timeout))

    def metrics(self, *, timeout: float | None = None) -> list[dict[str, Any]]:
        """The server's metric catalogue."""
        return list(self._request("GET", "/v1/metrics", timeout=timeout)["metrics"])

    def audit(
        self,
        frame: pd.DataFrame,
        *,
        label: str,
        protected: Sequence[str | Mapping[str, Any]],
        prediction: str | None = None,
        score: str | None = None,
        threshold: float | None = None,
        count: str | None = None,
        weight: str | None = None,
        positive_label: Any = 1,
        favorable: Any = None,
        intersections: Sequence[Sequence[str]] | None = None,
        policy: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """Audit ``frame``: sends its columns as JSON and returns the report (verdict, findings, groups).

        ``protected`` items are column names (reference: the largest group) or objects such as
        ``{"attribute": "race", "reference": "Caucasian"}``. Only the named columns are sent.
        """
        specs = [{"attribute": p} if isinstance(p, str) else dict(p) for p in protected]
        used = [label, prediction, score, count, weight, *(s["attribute"] for s in specs)]
        # a column the frame lacks is left for the server to name in its problem response
        names = list(dict.fromkeys(c for c in used if c and c in frame.columns))
        body: dict[str, Any] = {
            "data": {"columns": _columns(frame[names])},
            "label": label,
            "protected": specs,
            "positive_label": positive_label,
        }
        optional = {"prediction": prediction, "score": score, "threshold": threshold, "count": count,
                    "weight": weight, "favorable": favorable, "policy": policy,
                    "intersections": [list(c) for c in intersections] if intersections else None}
        body.update({k: v for k, v in optional.items() if v is not None})
        body.update(options)
        payload = json.dumps(body, allow_nan=False, default=_default)
        return dict(self._request(
            "POST", "/v1/audits", data=payload, headers={"Content-Type": "application/json"}, timeout=timeout
        ))

    def name_banks(self, *, timeout: float | None = None) -> list[dict[str, Any]]:
        """The server's name banks: groups, sizes, thresholds and sources."""
        return list(self._request("GET", "/v1/name-banks", timeout=timeout))

    def name_swap(self, *, endpoint: Mapping[str, Any], profiles: Sequence[Mapping[str, Any]],
                  name_fields: Mapping[str, Any], reference: str, timeout: float | None = None,
                  **options: Any) -> dict[str, Any]:
        """Probe a model endpoint with the profiles under names of each group (``POST /v1/probes/name-swap``).

        ``endpoint`` is the spec (``url``, ``format``, ``headers``...); ``options`` are the other request
        fields (``bank``, ``groups``, ``names_per_group``, ``id_field``, ``policy``, ``seed``). Give
        ``timeout`` above the endpoint's ``deadline_s``.
        """
        body = {"endpoint": dict(endpoint), "profiles": {"records": list(profiles)},
                "name_fields": dict(name_fields), "reference": reference, **options}
        return self._post("/v1/probes/name-swap", body, timeout)

    def flip(self, *, endpoint: Mapping[str, Any], profiles: Sequence[Mapping[str, Any]],
             flips: Sequence[Mapping[str, Any]], timeout: float | None = None, **options: Any) -> dict[str, Any]:
        """Probe a model endpoint with a protected attribute flipped (``POST /v1/probes/flip``)."""
        body = {"endpoint": dict(endpoint), "profiles": {"records": list(profiles)}, "flips": list(flips), **options}
        return self._post("/v1/probes/flip", body, timeout)

    def _post(self, path: str, body: Mapping[str, Any], timeout: float | None) -> dict[str, Any]:
        payload = json.dumps(body, allow_nan=False, default=_default)
        return dict(self._request("POST", path, data=payload, headers={"Content-Type": "application/json"},
                                  timeout=timeout))


def _default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"cannot send {type(value).__name__} as JSON")
