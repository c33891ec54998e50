"""Validation of one instrument's wave: pandera rules, duplicates, row conservation.

`validate_wave` takes every parsed export of one instrument and wave and returns the
accepted responses (wide, with `respondent_id`), one rejection record per rule broken, and
a per-file summary in which accepted + rejected = rows in the file. A response is accepted
whole or rejected whole.

It is two steps. `validate_file` decides what one export decides alone: the reader's file
and row problems, and the pandera rules of each of its rows (a `FileValidation`, which can
be kept as Parquet: files.py). `combine_files` takes the wave's FileValidations -- fresh or
kept -- and decides what needs them all: duplicates across exports, superseded submissions,
which responses are accepted, their respondent ids, and each file's summary. The exports of
a wave must have distinct names (wave.py's `_distinct_names` sees to it).

Everything over the responses is columnar: the rules are decided per distinct cell
(schemas.py), a rejected row is found by a key lookup, the summaries are counts per file;
only the rejection records (the rows that broke a rule) are built one by one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from koryu_pipeline.codebook import Form, wave_number
from koryu_pipeline.ingest.readers import ParsedExport
from koryu_pipeline.ingest.readers.base import META_COLUMNS, SUBMITTED_TEXT, shown_value
from koryu_pipeline.ingest.validation.dedupe import find_duplicates, find_superseded, joined_text
from koryu_pipeline.ingest.validation.files import (
    RECORD_COLUMNS,
    FileValidation,
    empty_records,
)
from koryu_pipeline.ingest.validation.schemas import SUBMITTED, response_schema, validate_responses
from koryu_pipeline.warehouse.tables import FILES_SCHEMA, REJECTIONS_SCHEMA

__all__ = [
    "FileValidation",
    "WaveValidation",
    "combine_files",
    "response_schema",
    "validate_file",
    "validate_wave",
]

RULE_MESSAGES = {
    "unknown_option": "「{value}」 is not an option of {header}",
    "too_many_choices": "{count} choices given where {header} allows at most {limit}",
    "exclusive_option": "an exclusive option was combined with others in {header}",
    "not_routed": "{header} was answered but its routing did not show it",
    "missing_required": "required {header} is empty",
    "outside_fielding_window": "submitted {value}, outside the fielding window {opens}..{closes}",
    "invalid_timestamp": "the submission time is empty or cannot be read",
}
# A rule the readers apply themselves (the row has no cells to validate): its message is the
# reader's.
READER_RULES = ("malformed_row",)
SUBMITTED_COLUMN = "完了時刻/タイムスタンプ"  # the submission column, as a rejection names it
_REJECTION_COLUMNS = [c for c in REJECTIONS_SCHEMA.names if c not in ("instrument", "wave")]
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_HASH_SLICE = 65536


@dataclass
class WaveValidation:
    accepted: pd.DataFrame  # wide; META_COLUMNS + respondent_id + one column per field
    rejections: pd.DataFrame  # REJECTIONS_SCHEMA
    files: pd.DataFrame  # FILE_SUMMARY_SCHEMA


def wide_columns(form: Form) -> list[str]:
    """The columns validation takes from the readers' frame, in order."""
    return [*META_COLUMNS, *(f.column for f in form.fields), SUBMITTED_TEXT]


def _render(value: object) -> str | None:
    """A value as a rejection shows it (long text cut: a rejection points at the cell)."""
    if value is None or (not isinstance(value, tuple) and pd.isna(value)):
        return None
    if isinstance(value, tuple):
        return shown_value(";".join(value))
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return shown_value(str(value))


def _file_message(source_file: str, problem) -> str:
    """A whole-file rejection's message: file, rule, then the reader's explanation."""
    text = problem.message.removeprefix(f"{source_file}: ")
    return f"{source_file}: {problem.rule}: {text}"


def _header(form: Form, column: str) -> str:
    for f in form.fields:
        if f.column == column:
            label = f.header if len(f.header) <= 40 else f.header[:39] + "…"
            return f"{column} 「{label}」"
    return column


def _rule_records(form: Form, wide: pd.DataFrame) -> pd.DataFrame:
    """Run the pandera schema lazily over one file's rows and turn each failure case into a
    rule record (RECORD_COLUMNS; the message without its "<file> row <n>: <rule>: ")."""
    cases = validate_responses(form, wide)
    if cases is None:
        return empty_records()
    # A frame-level check is reported once per column of a failing row: keep one per row.
    # Column checks share their names across columns (every choice column has an
    # `unknown_option`), so they stay distinct per column.
    # a check that raised is reported with no row: a bug, never a pass
    crashed = cases["index"].isna() & cases["check"].astype(str).str.partition("@")[0].isin(
        list(RULE_MESSAGES)
    )
    if crashed.any():
        raise RuntimeError(f"a validation check failed: {cases[crashed].to_dict('records')}")
    cases = cases[cases["index"].notna()]
    frame_level = cases["schema_context"] == "DataFrameSchema"
    cases = cases.assign(_col=cases["column"].where(~frame_level, "")).drop_duplicates(
        ["check", "_col", "index"]
    )
    entries = {f.column: f.entry for f in form.fields}
    headers: dict[str, str] = {}
    rules: list[str] = []
    columns: list[str] = []
    for check, case_column in zip(cases["check"].tolist(), cases["column"].tolist(), strict=True):
        rule, _, column = str(check).partition("@")
        if rule not in RULE_MESSAGES:  # a dtype or presence failure: a schema bug, not data
            raise RuntimeError(f"unexpected pandera failure {check} in {case_column}")
        rules.append(rule)
        columns.append(column or str(case_column))
    index = cases["index"].to_numpy().astype(np.int64)
    # each failing cell, fetched column by column (the submission's as written)
    values: list[object] = [None] * len(rules)
    source = [
        SUBMITTED_TEXT if r == "invalid_timestamp" else c
        for r, c in zip(rules, columns, strict=True)
    ]
    for column in dict.fromkeys(source):
        if column not in wide.columns:
            continue
        at = [k for k, c in enumerate(source) if c == column]
        for k, v in zip(at, wide[column].take(index[at]).tolist(), strict=True):
            values[k] = v
    source_rows = wide["source_row"].to_numpy()[index].tolist()
    records: list[dict[str, object]] = []
    for rule, column, value, source_row in zip(rules, columns, values, source_rows, strict=True):
        entry = entries.get(column)
        shown = value
        if rule == "unknown_option" and isinstance(value, tuple) and entry is not None:
            shown = tuple(v for v in value if v not in entry.option_by_key)
        if column not in headers:
            headers[column] = _header(form, column)
        records.append(
            {
                "source_row": int(source_row),
                "rule": rule,
                "column": SUBMITTED_COLUMN if column == SUBMITTED else column,
                "value": _render(shown),
                "message": RULE_MESSAGES[rule].format(
                    value=_render(shown),
                    header=headers[column],
                    count=len(value) if isinstance(value, tuple) else 1,
                    limit=entry.max_choices if entry else "",
                    opens=form.opens,
                    closes=form.closes,
                ),
            }
        )
    # object columns holding the values as built (None stays None, not NaN), in the order of
    # the rows they name (the file's order: its Arrow form keeps them with their rows)
    order = np.argsort(index, kind="stable")
    return pd.DataFrame(
        {
            c: pd.Series(
                [records[k][c] for k in order.tolist()],
                dtype="int64" if c == "source_row" else object,
            )
            for c in RECORD_COLUMNS
        }
    )


def _numbered(wide: pd.DataFrame) -> pd.DataFrame:
    """Times as UTC microseconds, and each response key numbered: one export never lists a
    response twice, so identical keys within a file are distinct responses (two anonymous
    hires submitting the same answers in the same second), and the k-th of a file matches
    only the k-th of another export."""
    wide[SUBMITTED] = pd.to_datetime(wide[SUBMITTED], utc=True).dt.as_unit("us")
    keys, files = wide["response_key"], wide["source_file"]
    if len(wide) and isinstance(keys.dtype, pd.StringDtype) and (files == files.iloc[0]).all():
        # one file's rows (as validate_file has them): the k-th of each key, from its codes
        codes, uniques = pd.factorize(keys)
        if len(uniques) == len(keys):
            wide["response_key"] = keys + "#0"
            return wide
        occurrence = pd.Series(codes).groupby(codes, sort=False).cumcount().to_numpy()
        suffixes = pd.array([f"#{k}" for k in range(int(occurrence.max()) + 1)], dtype="str")
        wide["response_key"] = keys + pd.Series(suffixes.take(occurrence), index=keys.index)
        return wide
    occurrence = wide.groupby(["source_file", "response_key"], sort=False).cumcount()
    wide["response_key"] = keys + "#" + occurrence.astype(str)
    return wide


def validate_file(form: Form, exp: ParsedExport) -> FileValidation:
    """Everything one export decides alone (see the module's docstring)."""
    if exp.problem is not None or exp.frame is None or exp.frame.empty:
        return FileValidation(exp.source_file, exp.rows, exp.problem, list(exp.row_problems))
    wide = _numbered(exp.frame[wide_columns(form)].reset_index(drop=True))
    return FileValidation(
        exp.source_file,
        exp.rows,
        None,
        list(exp.row_problems),
        records=_rule_records(form, wide),
        wide=wide,
    )


def validate_wave(form: Form, exports: list[ParsedExport]) -> WaveValidation:
    return combine_files(form, [validate_file(form, exp) for exp in exports])


# ------------------------------------------------------------------ across the files


def respondent_ids(form: Form, keys: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """stable_id(instrument[0], instrument, wave, key) of each key (readers/normalise.py),
    and the ids' sort key. A SHA-256 per response is inherent to the ids, so that is all
    done per key: the hex digits are spelt out by numpy. An id is the prefix and the first
    8 bytes of the digest in hex, so ids sort as those bytes do, read as a big-endian
    integer (the sort key)."""
    base = hashlib.sha256(f"{form.instrument}\x1f{form.wave}\x1f".encode())
    fresh = base.copy

    def head(key: bytes) -> bytes:
        h = fresh()
        h.update(key)
        return h.digest()[:8]

    raw = pa.array(keys.array, type=pa.large_string()).cast(pa.large_binary())
    # in slices, so only a slice's keys are ever Python bytes at once
    digests = b"".join(
        b"".join([head(k) for k in raw.slice(at, _HASH_SLICE).to_numpy(zero_copy_only=False)])
        for at in range(0, len(raw), _HASH_SLICE)
    )
    head8 = np.frombuffer(digests, dtype=np.uint8).reshape(-1, 8)
    prefix = np.frombuffer(form.instrument[0].encode("utf-8"), dtype=np.uint8)
    width = len(prefix) + 16
    text = np.empty((len(head8), width), dtype=np.uint8)
    text[:, : len(prefix)] = prefix
    text[:, len(prefix) :: 2] = _HEX[head8 >> 4]
    text[:, len(prefix) + 1 :: 2] = _HEX[head8 & 15]
    ids = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(width), len(text), [None, pa.py_buffer(text.tobytes())]
    )
    ids = pd.Series(ids.cast(pa.binary()).cast(pa.large_string()), dtype="str")
    return ids, np.frombuffer(digests, dtype=">u8")


def _iso(times: pd.Series) -> pd.Series:
    """Each time's isoformat(), '?' where missing; once per distinct time."""
    codes, uniques = pd.factorize(times)
    text = np.array([t.isoformat() for t in uniques] + ["?"], dtype=object)
    return pd.Series(text[codes], index=times.index, dtype=object)


class _Rejections:
    """The rejection records as columns (lists of Python values, as the frame infers them)."""

    def __init__(self) -> None:
        self.columns: dict[str, list[object]] = {c: [] for c in _REJECTION_COLUMNS}

    def add(self, **values: object) -> None:
        for c in _REJECTION_COLUMNS:
            self.columns[c].append(values[c])

    def extend(self, **values: list[object]) -> None:
        for c in _REJECTION_COLUMNS:
            self.columns[c].extend(values[c])

    def frame(self, form: Form) -> pd.DataFrame:
        n = len(self.columns["source_file"])
        rej = (
            pd.DataFrame(self.columns, columns=_REJECTION_COLUMNS)
            if n
            else pd.DataFrame([], columns=_REJECTION_COLUMNS)
        )
        rej.insert(0, "instrument", form.instrument)
        rej.insert(1, "wave", wave_number(form.wave))
        rej["source_row"] = rej["source_row"].astype("Int32")
        rej = rej.sort_values(
            ["source_file", "source_row", "rule", "column"], kind="stable", na_position="first"
        ).reset_index(drop=True)
        return rej[REJECTIONS_SCHEMA.names]


def _cross_records(
    wide: pd.DataFrame,
    rows: pd.Index,
    rule: str,
    column: list[object],
    value: list[object],
    message: pd.Series,
) -> dict[str, list[object]]:
    """Records of `rule` for the rows `rows` of `wide`, the message after its prefix."""
    files = wide.loc[rows, "source_file"]
    numbers = wide.loc[rows, "source_row"]
    prefix = files + " row " + numbers.astype(str) + f": {rule}: "
    return {
        "source_file": files.tolist(),
        "source_row": [int(r) for r in numbers.tolist()],
        "rule": [rule] * len(rows),
        "column": column,
        "value": value,
        "message": (prefix + message).tolist(),
    }


def combine_files(form: Form, files: list[FileValidation]) -> WaveValidation:
    """The wave's validation from its exports' FileValidations (see the module)."""
    names = [f.source_file for f in files]
    if len(set(names)) != len(names):
        raise ValueError(f"two exports of {form.instrument} {form.wave} share a name: {names}")
    rejections = _Rejections()
    rejected_rows: list[np.ndarray] = []  # per file with rows: its rejected source_rows
    frames: list[pd.DataFrame] = []
    position: dict[int, int] = {}  # a file's position in `files` -> in `frames`
    for k, fv in enumerate(files):
        if fv.problem is not None:
            rejections.add(
                source_file=fv.source_file,
                source_row=None,
                rule=fv.problem.rule,
                column=fv.problem.column,
                value=None,
                message=_file_message(fv.source_file, fv.problem),
            )
            continue
        for p in fv.row_problems:
            rejections.add(
                source_file=fv.source_file,
                source_row=p.source_row,
                rule=p.rule,
                column=None,
                value=None,
                message=f"{fv.source_file} row {p.source_row}: {p.rule}: {p.message}",
            )
        if fv.wide is None:
            continue
        rec = fv.records
        numbers = rec["source_row"].astype(str)
        rejections.extend(
            source_file=[fv.source_file] * len(rec),
            source_row=rec["source_row"].tolist(),
            rule=rec["rule"].tolist(),
            column=rec["column"].tolist(),
            value=rec["value"].tolist(),
            message=[
                f"{fv.source_file} row {n}: {r}: {m}"
                for n, r, m in zip(numbers, rec["rule"], rec["message"], strict=True)
            ],
        )
        # a row is rejected by any record naming it (a reader's too: it names no frame row)
        rejected_rows.append(
            np.concatenate(
                [
                    rec["source_row"].to_numpy(np.int64),
                    np.asarray([p.source_row for p in fv.row_problems], dtype=np.int64),
                ]
            )
        )
        wide_f = fv.wide
        if len(wide_f) and wide_f["source_file"].iloc[0] != fv.source_file:
            wide_f = fv.relabel(fv.source_file).wide  # kept under another name
        position[k] = len(frames)
        frames.append(wide_f)
    if frames:
        wide = pd.concat(frames, ignore_index=True)
    else:
        wide = _numbered(pd.DataFrame(columns=wide_columns(form)))
    lengths = np.array([len(f) for f in frames], dtype=np.int64)
    file_of_row = np.repeat(np.arange(len(frames)), lengths)
    source_row = wide["source_row"].to_numpy(np.int64)
    # a row's key: its file's position among `frames`, and its source_row
    row_key = (file_of_row.astype(np.int64) << 32) | source_row
    rejected_keys = [
        (np.int64(i) << 32) | rows for i, rows in enumerate(rejected_rows) if len(rows)
    ]

    # keys are numbered within each file, so only another export can repeat one
    dups = find_duplicates(wide) if len(frames) > 1 else find_duplicates(wide.iloc[:0])
    if len(dups):
        rejections.extend(
            **_cross_records(
                wide,
                dups.index,
                "duplicate",
                [None] * len(dups),
                [None] * len(dups),
                "the same response as "
                + dups["kept_file"].astype("str")
                + " row "
                + dups["kept_row"].astype("int64").astype(str)
                + "; kept there, counted once",
            )
        )
        rejected_keys.append(row_key[dups.index.to_numpy()])
    superseded = find_superseded(form, wide.drop(index=dups.index) if len(dups) else wide)
    if len(superseded):
        rows = superseded.index
        rejections.extend(
            **_cross_records(
                wide,
                rows,
                "superseded",
                [",".join(form.supersede_on)] * len(rows),
                joined_text(wide.loc[rows], list(form.supersede_on), "/").tolist(),
                "superseded by a later submission ("
                + superseded["by_file"].astype("str")
                + " row "
                + superseded["by_row"].astype("int64").astype(str)
                + ", "
                + _iso(superseded["by_time"])
                + ")",
            )
        )
        rejected_keys.append(row_key[rows.to_numpy()])
    rejected_key_set = np.concatenate(rejected_keys) if rejected_keys else np.zeros(0, np.int64)
    # source_row 0 names no row (the old truthiness test); file-level records have none
    rejected_key_set = rejected_key_set[(rejected_key_set & 0xFFFFFFFF) != 0]
    rejected = np.isin(row_key, rejected_key_set)

    # the accepted rows in respondent_id order (a stable sort: rows of equal ids keep theirs)
    keep = np.flatnonzero(~rejected)
    if len(keep):
        keys = wide["response_key"]
        ids, order_key = respondent_ids(form, keys if len(keep) == len(keys) else keys.take(keep))
        order = np.argsort(order_key, kind="stable")
        accepted = wide.take(keep[order]).reset_index(drop=True)
        accepted.insert(0, "respondent_id", ids.take(order).reset_index(drop=True))
    else:
        accepted = wide.iloc[:0].copy()
        accepted.insert(0, "respondent_id", [])

    n_accepted = np.bincount(file_of_row[~rejected], minlength=len(frames))
    n_rejected = np.bincount(file_of_row[rejected], minlength=len(frames))
    file_records: list[dict[str, object]] = []
    for k, fv in enumerate(files):
        i = position.get(k)
        file_records.append(
            {
                "instrument": form.instrument,
                "wave": wave_number(form.wave),
                "source_file": fv.source_file,
                "rows": fv.rows,
                "accepted": 0 if i is None else int(n_accepted[i]),
                "rejected": fv.rows
                if fv.problem is not None
                else (0 if i is None else int(n_rejected[i])) + len(fv.row_problems),
                "file_rejected": fv.problem is not None,
            }
        )
    files_frame = (
        pd.DataFrame(file_records, columns=FILES_SCHEMA.names)
        .sort_values("source_file", kind="stable")
        .reset_index(drop=True)
    )
    return WaveValidation(accepted=accepted, rejections=rejections.frame(form), files=files_frame)
