"""Fields for values that must be one thing: a label or group value, a finite number within sane bounds."""

from __future__ import annotations

import math
from typing import Any

from marshmallow import ValidationError, fields

__all__ = ["MAX_MAGNITUDE", "Bounded", "Scalar"]

#: the largest magnitude any number in a request may have: far above any count, weight, price or range a
#: model sees, far below where sums and squares of such numbers overflow a double
MAX_MAGNITUDE = 1e15

ERR_SCALAR = "must be a single value: text, a number or true/false (not a list, an object or null)"
ERR_MAGNITUDE = f"must lie between -{MAX_MAGNITUDE:g} and {MAX_MAGNITUDE:g}"


class Scalar(fields.Field):  # type: ignore[type-arg]
    """A label or group value exactly as it appears in the data: a string, a finite number or a boolean."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"type": ["string", "number", "boolean"], **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool | str):
            return value
        if isinstance(value, int | float):
            if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
                raise ValidationError(ERR_MAGNITUDE)
            return value
        raise ValidationError(ERR_SCALAR)


class Bounded(fields.Float):
    """A finite number no larger in magnitude than :data:`MAX_MAGNITUDE`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_nan", False)
        super().__init__(**kwargs)

    def _validated(self, value: Any) -> float:
        number = super()._validated(value)
        if number is not None and abs(number) > MAX_MAGNITUDE:
            raise ValidationError(ERR_MAGNITUDE)
        return number
