"""One export's validation, as far as the file alone decides it, and its Arrow form.

A `FileValidation` holds what needs no other export: the reader's verdict on the file
(`problem`) and on rows it could not split (`row_problems`), the pandera rule records of its
rows, keyed by `source_row`, and its wide frame as the cross-file part takes it (times in
UTC microseconds, `response_key` numbered within the file). `combine_files` (the package)
adds what needs every export of the wave: duplicates, superseded submissions, acceptance,
respondent ids and the file summaries. So a file whose bytes are unchanged need not be
validated again: its FileValidation can be kept (`to_arrow`, written as one Parquet file)
and read back (`from_arrow`) -- under its current name, since a file's name is no part of
its validation (`relabel`).

The Arrow form is one table, one row per row of the wide frame:

- the wide frame's columns but `source_file` (the name is the file's, in the metadata):
  `source_row` int64, `submitted_at` timestamp[us, UTC], `response_key`, each field's column
  and `submitted_text` as string -- except multi-choice fields, list<string>: a tuple of
  labels is a list, `()` an empty list, a missing cell null, and a list reads back as a
  tuple;
- `rule_records`: list<struct<rule, column, value, message>>, the row's rule records (null
  when it broke none);
- schema metadata `koryu.file_validation`: JSON of the format version, the file's name and
  row count, its problem and row problems, and each wide column's pandas dtype (so `str`
  and `object` columns come back as they were: missing cells NaN in the one, None in the
  other).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from koryu_pipeline.codebook.routing import distinct, take_by_code
from koryu_pipeline.ingest.readers.base import FileProblem, RowProblem

# The per-row rule records: the row, the rule, the column (as a rejection names it), the
# value as shown, and the message after "<file> row <n>: <rule>: " (which needs the name).
RECORD_COLUMNS = ("source_row", "rule", "column", "value", "message")
METADATA_KEY = b"koryu.file_validation"
FORMAT = "koryu.file_validation/1"
_RECORD_TYPE = pa.struct(
    [
        ("rule", pa.string()),
        ("column", pa.string()),
        ("value", pa.string()),
        ("message", pa.string()),
    ]
)


def empty_records() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series([], dtype="int64" if c == "source_row" else object) for c in RECORD_COLUMNS}
    )


@dataclass
class FileValidation:
    source_file: str
    rows: int  # data rows in the file, as the reader counted them
    problem: FileProblem | None = None
    row_problems: list[RowProblem] = field(default_factory=list)
    # RECORD_COLUMNS in the order of the rows they name; object columns, None if empty
    records: pd.DataFrame = field(default_factory=empty_records)
    # the rows the cross-file part takes: None when the file has none (a problem, no rows)
    wide: pd.DataFrame | None = None

    def relabel(self, source_file: str) -> FileValidation:
        """The same validation under another name (the file renamed, or told apart from
        another of the same name)."""
        if source_file == self.source_file:
            return self
        wide = None if self.wide is None else self.wide.assign(source_file=source_file)
        return replace(self, source_file=source_file, wide=wide)

    def to_arrow(self) -> pa.Table:
        return _to_arrow(self)

    @classmethod
    def from_arrow(cls, table: pa.Table, source_file: str | None = None) -> FileValidation:
        """Read back a `to_arrow` table; `source_file` names it anew."""
        out = _from_arrow(table)
        return out if source_file is None else out.relabel(source_file)


# ------------------------------------------------------------------ to Arrow


def _strings_array(values: pd.Series) -> pa.Array:
    """A column of labels / text (None or NaN where missing) as Arrow strings."""
    if isinstance(values.dtype, pd.StringDtype):
        return pa.array(values.array, type=pa.string())
    codes, uniques = distinct(values)
    if not all(isinstance(u, str) for u in uniques):
        raise TypeError(f"column {values.name!r} holds a value that is not text")
    return pa.array(uniques, type=pa.string()).take(pa.array(codes, mask=codes < 0))


def _lists_array(values: pd.Series) -> pa.Array:
    """A column of label tuples (None where missing) as list<string>, one per distinct."""
    codes, uniques = distinct(values)
    if not all(isinstance(u, tuple) and all(isinstance(x, str) for x in u) for u in uniques):
        raise TypeError(f"column {values.name!r} holds a value that is not a tuple of labels")
    lists = pa.array([list(u) for u in uniques], type=pa.list_(pa.string()))
    return lists.take(pa.array(codes, mask=codes < 0))


def _is_multi(values: pd.Series) -> bool:
    """A column of tuples (a multi-choice field's): its first present value is a tuple."""
    if values.dtype != object:
        return False
    present = values[values.notna()]
    return len(present) > 0 and isinstance(present.iloc[0], tuple)


def _records_array(records: pd.DataFrame, source_rows: np.ndarray) -> pa.Array:
    """The records as one list per wide row (matched on source_row; null when none)."""
    n = len(source_rows)
    if records.empty:
        return pa.nulls(n, pa.list_(_RECORD_TYPE))
    # each record's wide row: the first row with its source_row
    order = np.argsort(source_rows, kind="stable")
    at = np.searchsorted(source_rows[order], records["source_row"].to_numpy(), side="left")
    if (at >= n).any() or (
        source_rows[order][np.minimum(at, n - 1)] != records["source_row"]
    ).any():
        raise ValueError("a rule record names a row the file does not have")
    row = order[at]
    if (np.diff(row) < 0).any():  # grouped by row, as a list array holds them
        records = records.iloc[np.argsort(row, kind="stable")]
        row = np.sort(row, kind="stable")
    counts = np.bincount(row, minlength=n)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    values = pa.StructArray.from_arrays(
        [pa.array(records[c].tolist(), type=pa.string()) for c in _RECORD_TYPE.names],
        fields=list(_RECORD_TYPE),
    )
    return pa.ListArray.from_arrays(
        pa.array(offsets), values, mask=pa.array(counts == 0), type=pa.list_(_RECORD_TYPE)
    )


def _to_arrow(fv: FileValidation) -> pa.Table:
    columns: dict[str, pa.Array] = {}
    dtypes: dict[str, str] = {}
    if fv.wide is not None:
        for name in fv.wide.columns:
            values = fv.wide[name]
            dtypes[name] = str(values.dtype)
            if name == "source_file":  # the name is the metadata's (see relabel)
                continue
            if name == "source_row":
                columns[name] = pa.array(values.to_numpy(np.int64))
            elif isinstance(values.dtype, pd.DatetimeTZDtype):
                columns[name] = pa.array(values.dt.tz_convert("UTC").dt.as_unit("us"))
            elif _is_multi(values):
                columns[name] = _lists_array(values)
            elif isinstance(values.dtype, pd.StringDtype) or values.dtype == object:
                columns[name] = _strings_array(values)
            else:
                raise TypeError(f"column {name!r} of dtype {values.dtype} has no Arrow form here")
        source_rows = fv.wide["source_row"].to_numpy(np.int64)
    else:
        if not fv.records.empty:
            raise ValueError("rule records without the rows they name")
        columns["source_row"] = pa.array([], pa.int64())
        source_rows = np.zeros(0, np.int64)
    columns["rule_records"] = _records_array(fv.records, source_rows)
    meta = {
        "format": FORMAT,
        "source_file": fv.source_file,
        "rows": fv.rows,
        "problem": None if fv.problem is None else vars(fv.problem),
        "row_problems": [vars(p) for p in fv.row_problems],
        "wide": fv.wide is not None,
        "dtypes": dtypes,
    }
    return pa.table(columns).replace_schema_metadata(
        {METADATA_KEY: json.dumps(meta, ensure_ascii=False).encode("utf-8")}
    )


# ------------------------------------------------------------------ from Arrow


def _strings_back(array: pa.ChunkedArray, dtype: str) -> pd.Series:
    if dtype == "str":
        return array.to_pandas().astype("str")
    # object: the distinct strings as Python objects, None where missing
    encoded = pc.dictionary_encode(array.combine_chunks())
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.intp)
    uniques = np.empty(len(encoded.dictionary), dtype=object)
    uniques[:] = encoded.dictionary.to_pylist()
    return pd.Series(take_by_code(codes, uniques, None), dtype=object)


def _lists_back(array: pa.ChunkedArray) -> pd.Series:
    """list<string> -> tuples (None where null), each distinct list turned into a tuple
    once. A list is told apart by its labels' codes read as the digits of one integer (code
    + 1, so the length is in the number too); when a list is too long for that, by its
    Python value."""
    array = array.combine_chunks()
    n = len(array)
    labels = pc.dictionary_encode(pc.list_flatten(array))
    digits = labels.indices.to_numpy(zero_copy_only=False).astype(np.int64) + 1
    base = len(labels.dictionary) + 1
    offsets = array.offsets.to_numpy()
    offsets = offsets - offsets[0]
    lengths = np.diff(offsets)
    longest = int(lengths.max()) if n else 0
    if longest and longest * np.log2(base) >= 62:  # the number would not fit in an int64
        return pd.Series([None if v is None else tuple(v) for v in array.to_pylist()], dtype=object)
    # the k-th label of a list weighs base**k; a list's number is the sum of its labels'
    position = np.arange(len(digits), dtype=np.int64) - np.repeat(offsets[:-1], lengths)
    weighted = digits * np.power(base, position, dtype=np.int64)
    total = np.concatenate([[0], np.cumsum(weighted)])
    number = total[offsets[1:]] - total[offsets[:-1]]
    valid = array.is_valid().to_numpy(zero_copy_only=False)
    codes, uniques = pd.factorize(np.where(valid, number, -1))
    first = np.empty(len(uniques), dtype=np.int64)
    first[codes] = np.arange(n)  # a row of each distinct number (any: they hold one list)
    per_value = np.empty(len(uniques), dtype=object)
    per_value[:] = [
        None if not valid[row] else tuple(array[int(row)].as_py()) for row in first.tolist()
    ]
    return pd.Series(per_value[codes], dtype=object)


def _records_back(array: pa.ChunkedArray, source_rows: np.ndarray) -> pd.DataFrame:
    array = array.combine_chunks()
    flat = pc.list_flatten(array)
    if len(flat) == 0:
        return empty_records()
    parents = pc.list_parent_indices(array).to_numpy()
    out = {"source_row": pd.Series(source_rows[parents], dtype="int64")}
    for name in _RECORD_TYPE.names:
        out[name] = pd.Series(flat.field(name).to_pylist(), dtype=object)
    return pd.DataFrame(out)[list(RECORD_COLUMNS)]


def _from_arrow(table: pa.Table) -> FileValidation:
    raw = (table.schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise ValueError("not a FileValidation table (no koryu.file_validation metadata)")
    meta = json.loads(raw.decode("utf-8"))
    if meta.get("format") != FORMAT:
        raise ValueError(f"FileValidation format {meta.get('format')!r}, not {FORMAT!r}")
    source_rows = table.column("source_row").to_numpy().astype(np.int64)
    wide = None
    if meta["wide"]:
        data: dict[str, pd.Series] = {}
        for name, dtype in meta["dtypes"].items():
            if name == "source_file":  # not stored: the file's name, whatever it is now
                data[name] = pd.Series(meta["source_file"], index=range(len(table)), dtype=dtype)
                continue
            column = table.column(name)
            if pa.types.is_list(column.type):
                data[name] = _lists_back(column)
            elif pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
                data[name] = _strings_back(column, dtype)
            else:
                data[name] = column.to_pandas().astype(dtype)
        wide = pd.DataFrame(data)
    problem = meta["problem"]
    return FileValidation(
        source_file=meta["source_file"],
        rows=meta["rows"],
        problem=None if problem is None else FileProblem(**problem),
        row_problems=[RowProblem(**p) for p in meta["row_problems"]],
        records=_records_back(table.column("rule_records"), source_rows),
        wide=wide,
    )
