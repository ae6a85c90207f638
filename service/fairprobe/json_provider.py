"""JSON in and out: orjson for reading large bodies, and no NaN or infinity ever written."""

from __future__ import annotations

import json
from typing import Any

import orjson
from flask.json.provider import DefaultJSONProvider

__all__ = ["StrictJSONProvider"]


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's provider with ``allow_nan=False``: an undefined number must be ``null`` with a reason,
    so a NaN that leaks into a response raises instead of producing invalid JSON."""

    sort_keys = False
    ensure_ascii = False  # explanations print "≥" and "–" as themselves, not as \u escapes

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        kwargs.setdefault("default", self.default)
        kwargs.setdefault("ensure_ascii", self.ensure_ascii)
        kwargs.setdefault("sort_keys", self.sort_keys)
        kwargs["allow_nan"] = False
        kwargs.setdefault("check_circular", False)  # reports are trees: nothing to look for, and it costs
        return json.dumps(obj, **kwargs)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        # orjson rejects NaN/Infinity literals, which the stdlib parser would accept.
        return orjson.loads(s)
