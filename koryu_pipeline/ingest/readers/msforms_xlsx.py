"""Microsoft Forms' Excel export (.xlsx).

Leading columns ID, 開始時刻, 完了時刻, メール, 名前, then one column per entry (a likert entry
one per item, headed by the item text alone). Date-times are Excel date-time cells in local
time (the form's timezone); multi-select cells join labels each followed by ';'.

Files that went through someone's hands are read too: the header may sit below blank or
title rows, the responses on another sheet than the first (the sheet naming the most of the
form's headers is read), and a cell may hold anything Excel or another tool can write (an
error such as #N/A, a formula without a cached value, a date Excel cannot show, text where a
number belongs): such a cell is read as its text and judged by validation, never ending the
file.
"""

from __future__ import annotations

import io
import warnings
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any

import pandas as pd
from openpyxl import load_workbook
from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.utils.exceptions import CellCoordinatesException, InvalidFileException
from openpyxl.worksheet import _read_only, _reader

from koryu_pipeline.codebook import Form, normalise_text
from koryu_pipeline.ingest.readers.base import (
    SUBMITTED_TEXT,
    ParsedExport,
    collect,
    field_cells,
    find_header,
    is_personal_header,
    match_headers,
    missing_column_problem,
    scrubber_of,
    unreadable,
)
from koryu_pipeline.ingest.readers.normalise import (
    excel_serial_to_datetime,
    local_to_utc,
    parse_google_timestamp,
)

ID_HEADER = "ID"
STARTED_HEADER = "開始時刻"
SUBMITTED_HEADER = "完了時刻"
PERSONAL_HEADERS = ("メール", "名前")  # read only to scrub their values from other cells
REQUIRED_META = (ID_HEADER, STARTED_HEADER, SUBMITTED_HEADER)
SEPARATORS = (";",)
# What a damaged or foreign file raises inside openpyxl: not a zip, a truncated member, XML
# that does not parse (ParseError is a SyntaxError), a part or sheet that is not there.
UNREADABLE_ERRORS = (
    InvalidFileException,
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    SyntaxError,
    KeyError,
    IndexError,
    OSError,
    ValueError,
    TypeError,
)


class _CellTolerantParser(_reader.WorkSheetParser):
    """openpyxl's sheet parser, except that a cell it cannot convert (text in a number
    cell, a bad ISO date, a shared-string index out of range, a date serial beyond
    9999-12-31) is kept as the text written in the file instead of ending the whole sheet
    (or becoming "#VALUE!"): one bad cell rejects its response, not the file."""

    def parse_cell(self, element: Any) -> dict[str, Any]:
        try:
            cell = super().parse_cell(element)
        except (ValueError, TypeError, IndexError, KeyError, OverflowError):
            pass
        else:
            if cell["data_type"] == "e" and element.get("t", "n") == "n":
                cell["value"] = element.findtext(_reader.VALUE_TAG, None)  # serial as written
            return cell
        coordinate = element.get("r")
        try:
            row, column = coordinate_to_tuple(coordinate)
        except (TypeError, ValueError, CellCoordinatesException):
            if coordinate:  # unreadable: the parser never moved on to this cell
                self.col_counter += 1
            row, column = self.row_counter, self.col_counter
        return {
            "row": row,
            "column": column,
            "value": element.findtext(_reader.VALUE_TAG, None),
            "data_type": "s",
            "style_id": 0,
        }


# Read-only worksheets build their parser from this module attribute; the subclass behaves
# the same on every cell openpyxl can convert.
if getattr(_read_only, "WorkSheetParser", None) is _reader.WorkSheetParser:
    _read_only.WorkSheetParser = _CellTolerantParser  # type: ignore[misc]

_META = frozenset(REQUIRED_META)


def _timestamp(value: object, tz: str) -> pd.Timestamp | None:
    if isinstance(value, datetime):
        return local_to_utc(value, tz)
    if isinstance(value, int | float) and not isinstance(value, bool):
        naive = excel_serial_to_datetime(value)
        return local_to_utc(naive, tz) if naive is not None else None
    if isinstance(value, str) and value.strip():
        return parse_google_timestamp(value, tz)  # same "Y/M/D h:m:s" shape
    return None


def _rows(ws: Any) -> Iterator[tuple[int, Sequence[object]]]:
    """(row number as Excel shows it, cells) for every row of a read-only sheet."""
    return enumerate(ws.iter_rows(values_only=True), start=1)


def _choose_sheet(wb: Any, known: frozenset[str]) -> tuple[Any, int, list[str]] | None:
    """The sheet naming the most `known` headers (the first such), with its header row; the
    first non-empty sheet when none names any. Sizes declared in the file are ignored: a
    stale one would cut rows off."""
    best: tuple[int, Any, int, list[str]] | None = None
    for ws in wb.worksheets:
        ws.reset_dimensions()
        found = find_header(_rows(ws), known)
        if found is None:
            continue
        score = sum(1 for h in found[1] if normalise_text(h) in known)
        if best is None or score > best[0]:
            best = (score, ws, *found)
    return None if best is None else best[1:]


def _sheet_note(wb: Any, ws: Any) -> str:
    if len(wb.worksheets) < 2:
        return ""
    names = "、".join(f"「{w.title}」" for w in wb.worksheets)
    return f" (read sheet 「{ws.title}」 of {names}; no sheet has every column of the form)"


def count_xlsx_rows(data: bytes) -> int:
    """Data rows below the header (the ID / 完了時刻 row, else the first non-empty row) of
    the sheet that has it, without a form."""
    with _workbook(data) as wb:
        chosen = _choose_sheet(wb, _META)
        if chosen is None:
            return 0
        ws, header_at, _ = chosen
        numbers, _ = collect(_rows_below(ws, header_at), [])
    return len(numbers)


def _rows_below(ws: Any, header_at: int) -> Iterator[tuple[int, Sequence[object]]]:
    return ((n, r) for n, r in _rows(ws) if n > header_at)


@contextmanager
def _workbook(data: bytes) -> Iterator[Any]:
    """A read-only workbook over bytes, closed after use, with openpyxl's warnings (odd
    styles, out-of-range dates) silenced: the reader reports what matters."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            yield wb
        finally:
            wb.close()


def read_msforms_xlsx(data: bytes, source_file: str, form: Form) -> ParsedExport:
    header_of = {f.column: f.header for f in form.fields}
    known = _META | {normalise_text(h) for h in header_of.values()}
    try:
        with _workbook(data) as wb:
            chosen = _choose_sheet(wb, known)
            if chosen is None:
                return unreadable(source_file, "the workbook has no rows on any sheet")
            ws, header_at, headers = chosen
            norm_headers = [normalise_text(h) for h in headers]
            positions, missing = match_headers(form, headers, header_of)
            meta_missing = [h for h in REQUIRED_META if h not in norm_headers]
            if meta_missing or missing:
                numbers, _ = collect(_rows_below(ws, header_at), [])
                problem = missing_column_problem(
                    source_file, meta_missing + [f.header for f in missing]
                )
                note = _sheet_note(wb, ws)
                return ParsedExport(
                    source_file,
                    len(numbers),
                    problem=replace(problem, message=problem.message + note),
                )
            used = set(positions.values())
            personal = [i for i, h in enumerate(headers) if i not in used and is_personal_header(h)]
            id_at = norm_headers.index(ID_HEADER)
            sub_at = norm_headers.index(SUBMITTED_HEADER)
            fields = [positions[f.column] for f in form.fields]
            numbers, columns = collect(
                _rows_below(ws, header_at), [id_at, sub_at, *personal, *fields]
            )
    except UNREADABLE_ERRORS as exc:
        return unreadable(source_file, f"not a readable .xlsx workbook ({exc})")
    ids, stamps = columns[0], columns[1]
    scrub = scrubber_of(columns[2 : 2 + len(personal)])
    del columns[2 : 2 + len(personal)]  # personal values go no further than the scrubber
    field_columns = dict(zip((f.column for f in form.fields), columns[2:], strict=True))

    submitted = [_timestamp(v, form.timezone) for v in stamps]
    # the cell as written when it is not a time: the rejection shows it
    unread = [
        None if t is not None or v is None or not str(v).strip() else scrub(str(v))
        for t, v in zip(submitted, stamps, strict=True)
    ]
    # Forms numbers responses; with the submission time it identifies a response across a
    # partial and a full export of the same form.
    keys = [
        f"id={scrub(str(i))}|at={t.isoformat() if t is not None else scrub(str(v))}"
        for i, t, v in zip(ids, submitted, stamps, strict=True)
    ]
    frame = pd.DataFrame(
        {
            "source_file": [source_file] * len(numbers),
            "source_row": numbers,
            "submitted_at": submitted,
            "response_key": keys,
            **{
                f.column: field_cells(f, field_columns[f.column], SEPARATORS, scrub)
                for f in form.fields
            },
            SUBMITTED_TEXT: unread,
        },
    )
    return ParsedExport(source_file, len(numbers), frame=frame)
