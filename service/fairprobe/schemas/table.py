"""Turn the ``data`` member (records, columns, CSV, Arrow or Parquet bytes) into a DataFrame, checking columns
as a whole.

Rows are never validated one schema object at a time: the columns are checked vectorized.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pa_compute
import pyarrow.csv as pa_csv
import pyarrow.ipc as pa_ipc
import pyarrow.parquet as pq
from marshmallow import ValidationError

# the conversion DataFrame.from_records gives each column (pandas is pinned below 3; the tests compare the two)
from pandas.core.internals.construction import convert_object_array  # type: ignore[import-not-found]

from fairprobe.schemas.limits import current_limits

__all__ = ["RecordRows", "checked_frame", "frame_from_data", "records_of"]


class RecordRows:
    """JSON records as the large-body parser keeps them (``api.parser._compact_decoder``): each row a tuple of
    its values followed by the tuple of its keys, rows that repeat often one shared tuple."""

    __slots__ = ("rows",)

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def one_key_order(self) -> bool:
        """Whether every row has the same keys in the same order (they then share one keys tuple)."""
        return len(set(map(id, map(itemgetter(-1), self.rows)))) == 1

    def dicts(self) -> list[dict[str, Any]]:
        """The records as the dicts they were parsed from."""
        return [dict(zip(r[-1], r[:-1], strict=True)) for r in self.rows]

    def frame(self, read: Sequence[str] | None = None) -> pd.DataFrame:
        """For rows of :meth:`one_key_order`, the DataFrame ``pd.DataFrame.from_records`` makes of the records
        as dicts, value for value; with ``read``, only those of its columns that exist (all if none does)."""
        rows = self.rows
        keys = rows[0][-1]
        names = _present(keys, read) or list(keys)
        # one column at a time, with the conversion from_records applies to each (no 2-D array of every value)
        columns = [np.fromiter(map(itemgetter(keys.index(name)), rows), dtype=object, count=len(rows))
                   for name in names]
        return pd.DataFrame(dict(zip(names, convert_object_array(columns, dtype=None), strict=True)),
                            columns=pd.Index(names, dtype=object))


def _from_records(records: Any, columns: Sequence[str] | None = None) -> pd.DataFrame:
    if isinstance(records, RecordRows):
        if records.one_key_order():
            return _text_as_categories(records.frame(columns))
        records = records.dicts()  # keys differ between rows: read as dicts are
    if not isinstance(records, list):
        raise ValidationError("must be a list of objects", "records")
    if not all(type(r) is dict for r in records):
        raise ValidationError("every record must be a JSON object", "records")
    frame = pd.DataFrame.from_records(records)
    present = _present(list(frame.columns), columns)
    return _text_as_categories(frame if present is None else frame[present])


#: from this many rows on, text columns become categoricals (below it, converting costs what it saves)
CATEGORICAL_ROWS = 10_000


def _text_as_categories(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns of text only (missing values allowed) as categoricals: the values are hashed once here, and
    every later check and count works on the codes."""
    if len(frame) < CATEGORICAL_ROWS:
        return frame
    for name in frame.columns:
        series = frame[name]
        if series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) == "string":
            frame[name] = series.astype("category")
    return frame


#: the Arrow types a JSON column is kept as when pyarrow infers one (anything else goes through pandas)
_JSON_TYPES = (pa.int64(), pa.float64(), pa.bool_(), pa.string(), pa.null())


def _from_columns(columns: Any, read: Sequence[str] | None = None) -> pd.DataFrame:
    if not isinstance(columns, Mapping):
        raise ValidationError("must be an object of column name to list of values", "columns")
    lengths = set()
    for name, values in columns.items():
        if not isinstance(values, list):
            raise ValidationError(f"column {name!r} must be a list of values", "columns")
        lengths.add(len(values))
    if len(lengths) > 1:
        raise ValidationError(f"columns have different lengths: {sorted(lengths)}", "columns")
    if (present := _present(list(columns), read)) is not None:
        columns = {name: columns[name] for name in present}
    # each column converted by pyarrow where it infers a plain type (C loops over the values, text
    # dictionary-encoded); a column it cannot type (mixed values, lists, huge integers) as pandas would
    arrays: dict[str, pa.Array] = {}
    for name, values in columns.items():
        try:
            array = pa.array(values)
        except (pa.ArrowException, OverflowError, TypeError, ValueError):
            continue
        if array.type in _JSON_TYPES:
            arrays[name] = array
    fast = _to_pandas(pa.table(arrays)) if arrays else pd.DataFrame(index=pd.RangeIndex(next(iter(lengths), 0)))
    frame = pd.DataFrame({name: fast[name] if name in arrays else pd.Series(values)
                          for name, values in columns.items()}, index=fast.index)
    return _text_as_categories(frame)


def _present(names: Sequence[Any], wanted: Sequence[str] | None) -> list[Any] | None:
    """The columns of ``names`` that are ``wanted``, in the data's order; None (read them all) when nothing is
    wanted or none is there (the checks that follow then name what is missing)."""
    if wanted is None:
        return None
    keep = set(wanted)
    present = [n for n in names if n in keep]
    return present or None


#: the field separators a CSV may use: declared by ``delimiter``, or detected from the header row
DELIMITERS = (",", ";", "\t", "|")
#: the texts pandas reads as missing by default: the fast reader treats exactly these as null too
NA_TEXTS = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>",
            "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null")
#: Arrow types the fast reader keeps; any other (dates, times) is read again as text, as pandas reads it
_KEPT_TYPES = (pa.types.is_integer, pa.types.is_floating, pa.types.is_boolean, pa.types.is_string,
               pa.types.is_large_string, pa.types.is_dictionary, pa.types.is_null)


def _from_csv(raw: Any, delimiter: str | None = None, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """CSV with a header row: UTF-8 (a BOM is skipped), CRLF or LF, quoted fields (numbers too), the separator
    declared or detected from the header row.

    pyarrow's multithreaded reader does the work, with text columns dictionary-encoded (categorical codes
    downstream, no Python string per cell). Whatever it would read differently from pandas — a space after
    a separator (pandas' ``skipinitialspace``), a ragged row, a value it cannot convert — is read by pandas
    instead, so every file reads as it always has; only the time it takes changes.
    """
    if isinstance(raw, str):
        raw = raw.encode()
    if not isinstance(raw, bytes | bytearray):
        raise ValidationError("must be CSV text", "csv")
    first_line = raw[:raw.find(b"\n")] if b"\n" in raw else raw
    try:
        header_text = first_line.decode("utf-8").removeprefix("\ufeff").rstrip("\r")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"is not UTF-8 text (byte {exc.start})", "csv") from exc
    try:
        delimiter = delimiter or _detected(header_text)
        header = next(csv.reader(io.StringIO(header_text), delimiter=delimiter), [])
    except csv.Error as exc:  # e.g. a header field longer than the csv module's field limit
        raise ValidationError(f"the header row could not be read as CSV ({exc})", "csv") from exc
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        raise ValidationError(f"duplicate column names: {_shown(duplicates)}", "csv")
    read = _present(header, columns)
    fast = _fast_csv(raw, delimiter, read)  # pyarrow checks the text columns are UTF-8 (else it stands aside)
    if fast is not None:
        return fast
    try:
        raw.decode("utf-8")  # checked whole here, for a message that says where
    except UnicodeDecodeError as exc:
        raise ValidationError(f"is not UTF-8 text (byte {exc.start})", "csv") from exc
    try:
        return pd.read_csv(io.BytesIO(raw), sep=delimiter, skipinitialspace=True, keep_default_na=True,
                           encoding="utf-8-sig", usecols=read)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OverflowError, csv.Error) as exc:
        raise ValidationError(f"could not be parsed as CSV: {str(exc).splitlines()[0][:200]}", "csv") from exc


def _detected(header: str) -> str:
    """The separator that splits the header row into the most fields (a comma when none splits it)."""
    counts = {d: len(next(csv.reader([header], delimiter=d), [])) for d in DELIMITERS}
    best = max(counts.values())
    return "," if counts[","] == best else next(d for d in DELIMITERS if counts[d] == best)


def _fast_csv(raw: bytes | bytearray, delimiter: str, columns: Sequence[str] | None = None) -> pd.DataFrame | None:
    """The CSV read by pyarrow, or None where pandas must read it (see :func:`_from_csv`)."""
    body = raw.find(b"\n") + 1  # the header's own letters (e.g. "sex") say nothing about the values
    if raw.find(b"+", body) >= 0 or any(raw.find(x, body) >= 0 and raw.find(b"0" + x, body) >= 0 for x in (b"x", b"X")):
        return None  # pyarrow reads 0x10 as 16 and +5 as 5.0; pandas keeps 0x10 as text and +5 as an integer
    quoted = b'"' in raw
    parse = pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=quoted)

    def read(types: dict[str, Any] | None = None, *, checked: bool = False) -> pa.Table:
        # unchecked, no value is compared with the missing-value texts and text is not checked as UTF-8: a
        # missing value then arrives as text (a number column with one becomes text too), so the dictionaries
        # are checked after the read (the distinct values only); a read they fail is done checked
        convert = pa_csv.ConvertOptions(null_values=list(NA_TEXTS) if checked else [], strings_can_be_null=checked,
                                        check_utf8=checked,
                                        true_values=["True", "TRUE", "true"], false_values=["False", "FALSE", "false"],
                                        auto_dict_encode=True, auto_dict_max_cardinality=2**31 - 1,
                                        column_types=types, include_columns=columns)
        return pa_csv.read_csv(pa.BufferReader(raw), parse_options=parse, convert_options=convert)
    try:
        table = read()
        if not _plain_text(table):
            table = read(checked=True)
        temporal = {f.name: pa.string() for f in table.schema if not any(kept(f.type) for kept in _KEPT_TYPES)}
        if temporal:
            table = read(temporal, checked=True)
        if table.num_rows == 0:
            return None  # pandas' own message for a file without rows
        frame: pd.DataFrame = table.to_pandas()
    except (pa.ArrowException, OSError, ValueError):
        return None
    for field in table.schema:
        if pa.types.is_binary(field.type) or (pa.types.is_dictionary(field.type) and
                                              not pa.types.is_string(field.type.value_type)):
            return None  # not UTF-8 text: pandas' reader says where
        if pa.types.is_dictionary(field.type) and _spaced(table.column(field.name)):
            return None  # pandas strips the space after a separator (skipinitialspace); pyarrow keeps it in text
        if pa.types.is_null(field.type):  # nothing but missing values: pandas reads a float column of NaN
            frame[field.name] = np.full(len(frame), np.nan)
        elif pa.types.is_floating(field.type):
            values = frame[field.name].to_numpy()
            with np.errstate(invalid="ignore"):
                if np.isinf(values).any() or (np.abs(values) >= 2.0**63).any():
                    return None  # pandas keeps 1e400 as text and 2**64 as an exact integer
    return frame


#: the missing-value texts as an Arrow array, to find them among a column's distinct values
_NA_VALUES = pa.array(NA_TEXTS, pa.string())


def _plain_text(table: pa.Table) -> bool:
    """Whether an unchecked read stands: every text column holds only UTF-8 and no missing-value text (such as
    "NA"), as seen from its dictionaries, and no number column holds NaN (read from a text such as "nan", which
    is a missing value to pandas); a plain-string column (not dictionary-encoded) is not checked here."""
    for column, field in zip(table.columns, table.schema, strict=True):
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            return False
        if pa.types.is_floating(field.type) and pa_compute.any(pa_compute.is_nan(column)).as_py():
            return False
        if not (pa.types.is_dictionary(field.type) and pa.types.is_string(field.type.value_type)) or \
                not column.num_chunks:
            continue
        values = _distinct(column)
        try:
            values.validate(full=True)  # UTF-8
        except pa.ArrowInvalid:
            return False
        if pa_compute.any(pa_compute.is_in(values, value_set=_NA_VALUES)).as_py():
            return False
    return True


def _distinct(column: pa.ChunkedArray) -> pa.Array:
    """The values of a dictionary-encoded column as its chunks' dictionaries hold them (each block of a CSV
    has its own): every distinct value, some more than once, in one array to look at with one call."""
    return pa.concat_arrays([chunk.dictionary for chunk in column.chunks])


def _spaced(column: pa.ChunkedArray) -> bool:
    """Whether a dictionary-encoded text column has a value starting with a space or a tab (the dictionaries
    of all its chunks looked at in one call)."""
    if not column.num_chunks:
        return False
    values = _distinct(column)
    return bool(len(values)) and bool(pa_compute.any(pa_compute.match_substring_regex(values, "^[ \t]")).as_py())


def _from_columnar(raw: Any, kind: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """An Arrow IPC stream (or file) or a Parquet file, read with pyarrow: dictionary-encoded text arrives as
    categorical codes, which the counts table uses as they are."""
    if not isinstance(raw, bytes | bytearray):
        raise ValidationError(f"send {kind} data as the file part 'data' of POST /v1/audits/upload", kind)
    buffer = pa.BufferReader(raw)  # bytes, or the bytearray a body was received into: not copied
    try:
        if kind == "parquet":
            file = pq.ParquetFile(buffer)
            table = file.read(columns=_present(file.schema_arrow.names, columns))
        else:
            try:
                table = pa_ipc.open_stream(buffer).read_all()
            except pa.ArrowInvalid:
                table = pa_ipc.open_file(pa.BufferReader(raw)).read_all()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise ValidationError(f"could not be read as {kind}: {str(exc).splitlines()[0][:200]}", kind) from exc
    if (present := _present(table.schema.names, columns)) is not None:
        table = table.select(present)
    for column in table.schema:
        if pa.types.is_nested(column.type) or pa.types.is_binary(column.type):
            raise ValidationError(f"column {_shown([column.name])} is {column.type}: every cell must be a single "
                                  "value (number, text, true/false or date)", kind)
    return _to_pandas(table)


#: from this many rows on, a table's text columns are dictionary-encoded side by side (pyarrow's kernels
#: release the GIL; one column of a million strings takes 10-20 ms)
PARALLEL_ENCODE_ROWS = 100_000
_ENCODING = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="fairprobe-encode")


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    """The table as a DataFrame, text columns dictionary-encoded first: they arrive as categoricals, whose
    codes the column checks and the counts table use as they are (no Python string per cell)."""
    text = [i for i, field in enumerate(table.schema)
            if pa.types.is_string(field.type) or pa.types.is_large_string(field.type)]
    columns = [table.column(i) for i in text]
    if len(text) > 1 and table.num_rows >= PARALLEL_ENCODE_ROWS:
        encoded = list(_ENCODING.map(pa_compute.dictionary_encode, columns))
    else:
        encoded = [pa_compute.dictionary_encode(column) for column in columns]
    for i, column in zip(text, encoded, strict=True):
        table = table.set_column(i, table.schema[i].name, column)
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


def frame_from_data(data: Mapping[str, Any], columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Exactly one of ``records``, ``columns``, ``csv``, ``arrow`` or ``parquet`` becomes the audit's DataFrame
    (with ``csv``, ``delimiter`` may name the separator). With ``columns``, only those of them that exist are
    read (the rest of a file is never parsed); without, every column."""
    given = [k for k in ("records", "columns", "csv", "arrow", "parquet") if k in data]
    if len(given) != 1:
        raise ValidationError("give exactly one of 'records', 'columns' or 'csv'", "_schema")
    kind = given[0]
    delimiter = data.get("delimiter")
    if delimiter is not None and kind != "csv":
        raise ValidationError("applies to CSV data only", "delimiter")
    if kind in ("arrow", "parquet"):
        frame = _from_columnar(data[kind], kind, columns)
    elif kind == "csv":
        frame = _from_csv(data[kind], delimiter, columns)
    else:
        frame = {"records": _from_records, "columns": _from_columns}[kind](data[kind], columns)
    if len(frame) == 0:
        raise ValidationError("has no rows", kind)
    _check_cells(frame, kind)
    return frame


def checked_frame(data: Mapping[str, Any], field: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """:func:`frame_from_data` with its errors under ``field``, the service's row limit and unique columns."""
    try:
        frame = frame_from_data(data, columns)
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
