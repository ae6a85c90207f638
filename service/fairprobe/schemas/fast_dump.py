"""Dumping reports without marshmallow's per-field overhead, from the same schemas.

A report holds thousands of small values (every rate of every group, every finding), and marshmallow's
generic ``dump`` spends a microsecond or more of Python on each: a fifth of a small audit's time. A
:class:`FastDumpSchema` compiles itself once into a plan — for each field, how to get its value and how to
convert it — and runs that plan. The schemas stay the single description of the JSON (and of the OpenAPI
document); fields the plan does not know are dumped by marshmallow itself. ``tests/unit/test_fast_dump.py``
checks the plan's output equals marshmallow's for every kind of report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from marshmallow import Schema, fields, missing

__all__ = ["FastDumpSchema"]

Convert = Callable[[Any], Any]


def _number(kind: type) -> Convert:
    return lambda value: None if value is None else kind(value)


def _converter(field: fields.Field) -> Convert | None:  # type: ignore[type-arg]
    """How to turn a field's value into JSON, or ``None`` when marshmallow must do it."""
    kind = type(field)
    if kind is fields.Float:
        return _number(float)
    if kind is fields.Integer:
        return _number(int)
    if kind is fields.String:
        return lambda value: None if value is None else str(value)
    if kind is fields.Boolean:
        return lambda value: None if value is None else bool(value)
    if kind is fields.Raw:
        return lambda value: value
    if kind is fields.Enum and field.by_value:  # type: ignore[attr-defined]
        return lambda value: None if value is None else value.value
    if isinstance(field, fields.Nested) and kind is fields.Nested and isinstance(field.schema, FastDumpSchema) \
            and not field.many:
        nested = type(field.schema).compiled()
        return lambda value: None if value is None else nested(value)
    if kind is fields.List:
        inner = _converter(field.inner)  # type: ignore[attr-defined]
        if inner is None:
            return None
        return lambda value: None if value is None else [inner(item) for item in value]
    if kind is fields.Dict and field.key_field is not None and type(field.key_field) is fields.String:  # type: ignore[attr-defined]
        values = _converter(field.value_field) if field.value_field is not None else (lambda v: v)  # type: ignore[attr-defined]
        if values is None:
            return None
        return lambda value: None if value is None else {str(k): values(v) for k, v in value.items()}
    return None


_MISSING = object()


def _getter(schema: Schema, name: str, field: fields.Field) -> Callable[[Any], Any]:  # type: ignore[type-arg]
    """The field's value, or ``_MISSING`` (then, as marshmallow does, the key is left out)."""
    attribute = field.attribute or name
    if "." in attribute:
        return lambda obj: schema.get_attribute(obj, attribute, _MISSING)
    # dict is checked by its C type (an abc.Mapping check costs more than the whole lookup)
    return lambda obj: obj.get(attribute, _MISSING) if isinstance(obj, dict) else getattr(obj, attribute, _MISSING)


class FastDumpSchema(Schema):
    """A schema whose ``dump`` runs a compiled plan of its fields (see the module docstring)."""

    _plans: ClassVar[dict[type, Callable[[Any], dict[str, Any]]]] = {}  # compiled once per schema class

    @classmethod
    def compiled(cls) -> Callable[[Any], dict[str, Any]]:
        plan = FastDumpSchema._plans.get(cls)
        if plan is None:
            plan = FastDumpSchema._plans[cls] = cls()._compile()
        return plan

    def _compile(self) -> Callable[[Any], dict[str, Any]]:
        steps: list[tuple[str, Callable[[Any], Any], Convert | None, str, fields.Field]] = []  # type: ignore[type-arg]
        for name, field in self.dump_fields.items():
            key = field.data_key or name
            steps.append((key, _getter(self, name, field), _converter(field), name, field))

        def dump(obj: Any) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for key, get, convert, name, field in steps:
                if convert is None:  # Function, Method, custom fields: marshmallow's own serialization
                    value = field.serialize(name, obj, accessor=self.get_attribute)
                    if value is not missing:
                        out[key] = value
                    continue
                raw = get(obj)
                if raw is not _MISSING:
                    out[key] = convert(raw)
            return out

        return dump

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        if self.only or self.exclude or any(tag.endswith("dump") for tag in self._hooks):
            return super().dump(obj, many=many)  # what the plan does not cover: marshmallow's own dump
        plan = type(self).compiled()
        if many if many is not None else self.many:
            return [plan(item) for item in obj]
        return plan(obj)
