"""Microsoft Forms' Excel export (.xlsx).

Leading columns ID, 開始時刻, 完了時刻, メール, 名前, then one column per entry (a likert entry
one per item, headed by the item text alone). Date-times are Excel date-time cells in local
time (the form's timezone); multi-select cells join labels each followed by ';'.
"""

from __future__ import annotations

import zipfile
from datetime import datetime
from pathlib import Path

import pandas as pd
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from koryu_pipeline.codebook import Form, normalise_text
from koryu_pipeline.readers.base import (
    FileProblem,
    ParsedExport,
    convert_cell,
    empty_row,
    match_headers,
    missing_column_problem,
)
from koryu_pipeline.readers.normalise import (
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


def _timestamp(value: object, tz: str) -> pd.Timestamp | None:
    if isinstance(value, datetime):
        return local_to_utc(value, tz)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return local_to_utc(excel_serial_to_datetime(value), tz)
    if isinstance(value, str) and value.strip():
        return parse_google_timestamp(value, tz)  # same "Y/M/D h:m:s" shape
    return None


def read_msforms_xlsx(path: Path, source_file: str, form: Form) -> ParsedExport:
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        return ParsedExport(
            source_file,
            0,
            problem=FileProblem(
                "unreadable_file", None, f"{source_file}: not a readable .xlsx workbook ({exc})"
            ),
        )
    try:
        ws = wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            return ParsedExport(
                source_file,
                0,
                problem=FileProblem("unreadable_file", None, f"{source_file}: the sheet is empty"),
            )
        headers = [str(h) if h is not None else "" for h in header]
        body = [list(r) for r in rows]
    finally:
        wb.close()

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
