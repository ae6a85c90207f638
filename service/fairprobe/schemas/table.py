"""Turn the ``data`` member (records, columns, CSV, Arrow or Parquet bytes) into a DataFrame, checking columns
as a whole.

Rows are never validated one schema object at a time: the columns are checked vectorized.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.ipc as pa_ipc
import pyarrow.parquet as pq
from marshmallow import ValidationError

from fairprobe.schemas.limits import current_limits

__all__ = ["checked_frame", "frame_from_data", "records_of"]


def _from_records(records: Any) -> pd.DataFrame:
    if not isinstance(records, list):
        raise ValidationError("must be a list of objects", "records")
    if not all(type(r) is dict for r in records):
        raise ValidationError("every record must be a JSON object", "records")
    return pd.DataFrame.from_records(records)


def _from_columns(columns: Any) -> pd.DataFrame:
    if not isinstance(columns, Mapping):
        raise ValidationError("must be an object of column name to list of values", "columns")
    lengths = set()
    for name, values in columns.items():
        if not isinstance(values, list):
            raise ValidationError(f"column {name!r} must be a list of values", "columns")
        lengths.add(len(values))
    if len(lengths) > 1:
        raise ValidationError(f"columns have different lengths: {sorted(lengths)}", "columns")
    return pd.DataFrame(dict(columns))


def _from_csv(raw: Any) -> pd.DataFrame:
    if isinstance(raw, str):
        raw = raw.encode()
    if not isinstance(raw, bytes | bytearray):
        raise ValidationError("must be CSV text", "csv")
    try:
        text = bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"is not UTF-8 text (byte {exc.start})", "csv") from exc
    try:
        header = next(csv.reader(io.StringIO(text.partition("\n")[0])), [])
    except csv.Error as exc:  # e.g. a header field longer than the csv module's field limit
        raise ValidationError(f"the header row could not be read as CSV ({exc})", "csv") from exc
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        raise ValidationError(f"duplicate column names: {_shown(duplicates)}", "csv")
    try:
        return pd.read_csv(io.StringIO(text), skipinitialspace=True, keep_default_na=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OverflowError, csv.Error) as exc:
        raise ValidationError(f"could not be parsed as CSV: {str(exc).splitlines()[0][:200]}", "csv") from exc


def _from_columnar(raw: Any, kind: str) -> pd.DataFrame:
    """An Arrow IPC stream (or file) or a Parquet file, read with pyarrow: dictionary-encoded text arrives as
    categorical codes, which the counts table uses as they are."""
    if not isinstance(raw, bytes | bytearray):
        raise ValidationError(f"send {kind} data as the file part 'data' of POST /v1/audits/upload", kind)
    buffer = pa.BufferReader(bytes(raw))
    try:
        if kind == "parquet":
            table = pq.read_table(buffer)
        else:
            try:
                table = pa_ipc.open_stream(buffer).read_all()
            except pa.ArrowInvalid:
                table = pa_ipc.open_file(pa.BufferReader(bytes(raw))).read_all()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise ValidationError(f"could not be read as {kind}: {str(exc).splitlines()[0][:200]}", kind) from exc
    for column in table.schema:
        if pa.types.is_nested(column.type) or pa.types.is_binary(column.type):
            raise ValidationError(f"column {_shown([column.name])} is {column.type}: every cell must be a single "
                                  "value (number, text, true/false or date)", kind)
    frame: pd.DataFrame = table.to_pandas()
    return frame


def _shown(names: list[Any]) -> str:
    """Column names for a message: a few, each cut short (a name may be huge; it is never a value)."""
    return ", ".join(repr(str(n)[:60]) for n in names[:5]) + (" ..." if len(names) > 5 else "")


def _check_cells(frame: pd.DataFrame, kind: str) -> None:
    """Every cell is a single value: a list or an object in a column cannot be a label or group value."""
    for name in frame.columns:
        if not isinstance(name, str):
            raise ValidationError("column names must be text", kind)
        series = frame[name]
        if series.dtype != object:
            continue
        # infer_dtype is C-fast; only a "mixed" column can hold a list or an object, and only an object
        # column of integers can hold one beyond 64 bits (pandas keeps those as Python ints)
        inferred = pd.api.types.infer_dtype(series, skipna=True)
        if inferred not in ("mixed", "mixed-integer", "integer"):
            continue
        nested = series.map(lambda v: isinstance(v, list | dict | tuple))
        if nested.any():
            row = int(nested.to_numpy().argmax())
            raise ValidationError(f"column {_shown([name])} holds a list or an object (first in row {row}); "
                                  "every cell must be a single value", kind)
        huge = series.map(lambda v: isinstance(v, int) and not -(2**63) <= v < 2**64)
        if huge.any():
            row = int(huge.to_numpy().argmax())
            raise ValidationError(f"column {_shown([name])} holds an integer beyond 64 bits (first in row {row})",
                                  kind)


def frame_from_data(data: Mapping[str, Any]) -> pd.DataFrame:
    """Exactly one of ``records``, ``columns`` or ``csv`` becomes the audit's DataFrame."""
    given = [k for k in ("records", "columns", "csv", "arrow", "parquet") if k in data]
    if len(given) != 1:
        raise ValidationError("give exactly one of 'records', 'columns' or 'csv'", "_schema")
    kind = given[0]
    if kind in ("arrow", "parquet"):
        frame = _from_columnar(data[kind], kind)
    else:
        frame = {"records": _from_records, "columns": _from_columns, "csv": _from_csv}[kind](data[kind])
    if len(frame) == 0:
        raise ValidationError("has no rows", kind)
    _check_cells(frame, kind)
    return frame


def checked_frame(data: Mapping[str, Any], field: str) -> pd.DataFrame:
    """:func:`frame_from_data` with its errors under ``field``, the service's row limit and unique columns."""
    try:
        frame = frame_from_data(data)
    except ValidationError as exc:
        inner = exc.field_name if exc.field_name != "_schema" else ""
        raise ValidationError(exc.messages, f"{field}.{inner}" if inner else field) from exc
    limit = current_limits().max_rows
    if len(frame) > limit:
        raise ValidationError(f"has {len(frame)} rows; this service accepts at most {limit}", field)
    if frame.columns.duplicated().any():
        raise ValidationError("duplicate column names", field)
    return frame


def records_of(frame: pd.DataFrame) -> tuple[dict[str, Any], ...]:
    """The rows as plain records, a missing value as ``None`` (JSON null)."""
    clean = frame.astype(object).where(pd.notna(frame), None)  # type: ignore[call-overload]
    rows: list[dict[str, Any]] = clean.to_dict("records")
    return tuple(rows)
