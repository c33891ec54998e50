"""Google Forms' CSV export.

タイムスタンプ first, then one column per entry; a grid (likert) entry one column per item
headed "<header> [<item>]". UTF-8 with or without a BOM, or CP932 once re-saved in Excel
(detected from the bytes). Checkbox cells join labels with ", " (the linked Sheet) or ";"
(the direct download). Timestamps "2023/11/20 15:04:05" or "2023/11/20 3:04:05 午後 GMT+9".
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from koryu_pipeline.codebook import Field, Form, normalise_text
from koryu_pipeline.ingest.readers.base import (
    ParsedExport,
    convert_cell,
    empty_row,
    match_headers,
    missing_column_problem,
    unreadable,
)
from koryu_pipeline.ingest.readers.normalise import (
    EncodingError,
    decode_csv_bytes,
    parse_google_timestamp,
)

TIMESTAMP_HEADER = "タイムスタンプ"
SEPARATORS = (";", ", ")


def grid_header(field: Field) -> str:
    if field.item is None:
        return field.entry.header
    return f"{field.entry.header} [{field.item.label}]"


def read_googleforms_csv(path: Path, source_file: str, form: Form) -> ParsedExport:
    try:
        text, encoding = decode_csv_bytes(Path(path).read_bytes())
        table = [r for r in csv.reader(io.StringIO(text, newline=""))]
    except (EncodingError, OSError, csv.Error) as exc:
        return unreadable(source_file, f"not a readable CSV export ({exc})")
    if not table:
        return unreadable(source_file, "the file is empty")
    headers, body = table[0], table[1:]
    numbered = [(n, r) for n, r in enumerate(body, start=2) if r and not empty_row(list(r))]
    norm_headers = [normalise_text(h) for h in headers]
    positions, missing = match_headers(
        form, headers, {f.column: grid_header(f) for f in form.fields}
    )
    names = ([TIMESTAMP_HEADER] if TIMESTAMP_HEADER not in norm_headers else []) + [
        grid_header(f) for f in missing
    ]
    if names:
        return ParsedExport(
            source_file,
            len(numbered),
            problem=missing_column_problem(source_file, names),
            encoding=encoding,
        )
    ts_at = norm_headers.index(TIMESTAMP_HEADER)
    records: list[dict[str, object]] = []
    for rownum, raw in numbered:
        cells = list(raw) + [""] * (len(headers) - len(raw))
        values = {
            f.column: convert_cell(f, cells[positions[f.column]], SEPARATORS) for f in form.fields
        }
        submitted = parse_google_timestamp(cells[ts_at], form.timezone)
        # Anonymous form: a response is its submission time plus its answers, so a repeat
        # of it in a later export has the same key.
        content = "|".join(
            f"{k}={';'.join(v) if isinstance(v, tuple) else v}" for k, v in values.items()
        )
        stamp = submitted.isoformat() if submitted is not None else cells[ts_at]
        records.append(
            {
                "source_file": source_file,
                "source_row": rownum,
                "submitted_at": submitted,
                "response_key": f"at={stamp}|{content}",
                **values,
            }
        )
    frame = pd.DataFrame.from_records(
        records,
        columns=["source_file", "source_row", "submitted_at", "response_key"]
        + [f.column for f in form.fields],
    )
    return ParsedExport(source_file, len(numbered), frame=frame, encoding=encoding)
