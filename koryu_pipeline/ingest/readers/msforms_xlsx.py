"""Microsoft Forms' Excel export (.xlsx).

Leading columns ID, 開始時刻, 完了時刻, メール, 名前, then one column per entry (a likert entry
one per item, headed by the item text alone). Date-times are Excel date-time cells in local
time (the form's timezone); multi-select cells join labels each followed by ';'.
"""

from __future__ import annotations

import zipfile
import zlib
from datetime import datetime
from pathlib import Path

import pandas as pd
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from koryu_pipeline.codebook import Form, normalise_text
from koryu_pipeline.ingest.readers.base import (
    ParsedExport,
    convert_cell,
    empty_row,
    match_headers,
    missing_column_problem,
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
PERSONAL_HEADERS = ("メール", "名前")  # never read past the header row
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


def _timestamp(value: object, tz: str) -> pd.Timestamp | None:
    if isinstance(value, datetime):
        return local_to_utc(value, tz)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return local_to_utc(excel_serial_to_datetime(value), tz)
    if isinstance(value, str) and value.strip():
        return parse_google_timestamp(value, tz)  # same "Y/M/D h:m:s" shape
    return None


def sheet_rows(path: Path) -> list[list[object]]:
    """Every row of the first sheet. A read-only workbook parses the sheet while it is
    iterated, so a damaged sheet fails here, not at load time."""
    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        return [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
    finally:
        wb.close()


def read_msforms_xlsx(path: Path, source_file: str, form: Form) -> ParsedExport:
    try:
        table = sheet_rows(path)
    except UNREADABLE_ERRORS as exc:
        return unreadable(source_file, f"not a readable .xlsx workbook ({exc})")
    if not table:
        return unreadable(source_file, "the sheet is empty")
    headers = [str(h) if h is not None else "" for h in table[0]]
    body = table[1:]

    # Keep the row number a spreadsheet shows; drop rows with nothing in them at all.
    numbered = [(n, r) for n, r in enumerate(body, start=2) if not empty_row(r)]
    norm_headers = [normalise_text(h) for h in headers]
    meta_missing = [h for h in REQUIRED_META if h not in norm_headers]
    positions, missing = match_headers(form, headers, {f.column: f.header for f in form.fields})
    if meta_missing or missing:
        names = meta_missing + [f.header for f in missing]
        return ParsedExport(
            source_file, len(numbered), problem=missing_column_problem(source_file, names)
        )

    id_at = norm_headers.index(ID_HEADER)
    sub_at = norm_headers.index(SUBMITTED_HEADER)
    records: list[dict[str, object]] = []
    for rownum, raw in numbered:
        cells = raw + [None] * (len(headers) - len(raw))
        submitted = _timestamp(cells[sub_at], form.timezone)
        rid = cells[id_at]
        rec: dict[str, object] = {
            "source_file": source_file,
            "source_row": rownum,
            "submitted_at": submitted,
            # Forms numbers responses; with the submission time it identifies a response
            # across a partial and a full export of the same form.
            "response_key": f"id={rid}|at={submitted.isoformat() if submitted else cells[sub_at]}",
        }
        for f in form.fields:
            rec[f.column] = convert_cell(f, cells[positions[f.column]], SEPARATORS)
        records.append(rec)
    frame = pd.DataFrame.from_records(
        records,
        columns=["source_file", "source_row", "submitted_at", "response_key"]
        + [f.column for f in form.fields],
    )
    return ParsedExport(source_file, len(numbered), frame=frame)
