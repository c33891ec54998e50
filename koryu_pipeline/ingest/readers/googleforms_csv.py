"""Google Forms' CSV export.

タイムスタンプ first, then one column per entry; a grid (likert) entry one column per item
headed "<header> [<item>]". UTF-8 with or without a BOM, CP932 once re-saved in Excel, or
UTF-16 tab-separated (Excel's "Unicode text"), detected from the bytes. Checkbox cells join
labels with ", " (the linked Sheet) or ";" (the direct download). Timestamps
"2023/11/20 15:04:05" or "2023/11/20 3:04:05 午後 GMT+9".

Row counts are the file's: the header may sit below blank or title rows, a cell may be of any
length, a few undecodable bytes cost only the cells they are in, and a row whose quoting is
broken (a quote never closed, text after a closing quote) is reported as `malformed_row` with
its line instead of swallowing the rows after it.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator, Sequence

import pandas as pd

from koryu_pipeline.codebook import Field, Form, normalise_text
from koryu_pipeline.ingest.readers.base import (
    SUBMITTED_TEXT,
    ParsedExport,
    RowProblem,
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
    EncodingError,
    decode_csv_bytes,
    parse_google_timestamp,
)

TIMESTAMP_HEADER = "タイムスタンプ"
SEPARATORS = (";", ", ")
DELIMITERS = (",", "\t")  # Google's CSV; Excel's "Unicode text" is tab-separated
# A quoted cell may hold line breaks; one spanning more lines than this is a quote left open.
MAX_RECORD_LINES = 200
_META = frozenset({TIMESTAMP_HEADER})

# No ceiling on a cell's size: a long answer is data, not a reason to drop the file.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def grid_header(field: Field) -> str:
    if field.item is None:
        return field.entry.header
    return f"{field.entry.header} [{field.item.label}]"


class _Lines:
    """The file's physical lines from `start`, for csv.reader, counting what it consumed.
    A record may take at most MAX_RECORD_LINES lines: past that the reader sees the end of
    the file (and reports the open quote), so a stray quote costs a bounded re-read."""

    def __init__(self, lines: list[str], start: int) -> None:
        self.lines, self.next, self.record_start = lines, start, start

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.next >= len(self.lines) or self.next - self.record_start >= MAX_RECORD_LINES:
            raise StopIteration
        self.next += 1
        return self.lines[self.next - 1]


def records(
    lines: list[str], delimiter: str, width: int | None = None
) -> Iterator[tuple[int, int, list[str] | None]]:
    """(row number, first line, cells) per CSV record, rows numbered as a spreadsheet shows
    them and lines as a text editor does; cells None for a record whose quoting is broken
    (strict parsing fails, or -- given the header `width` -- it spans several lines yet does
    not have `width` cells). Parsing resumes on the line after the broken record's first
    line, so every later row is read as itself."""
    number, pos = 0, 0
    while pos < len(lines):
        feed = _Lines(lines, pos)
        reader = csv.reader(feed, delimiter=delimiter, strict=True)
        while True:
            feed.record_start = start = feed.next
            try:
                cells: list[str] | None = next(reader)
            except StopIteration:
                return
            except csv.Error:
                cells = None
            if cells is not None and width is not None and feed.next - start > 1:
                cells = cells if len(cells) == width else None
            number += 1
            yield number, start + 1, cells
            if cells is None:
                pos = start + 1  # a new reader: the old one is inside the open quote
                break


def _table(text: str, known: frozenset[str]) -> tuple[list[str], str, int, list[str]] | None:
    """(physical lines, delimiter, header row number, header cells): the delimiter under
    which a header names the most `known` headers (comma on a tie). None when empty."""
    lines = list(io.StringIO(text, newline=""))  # \r, \n and \r\n end a line; nothing else
    best: tuple[int, str, int, list[str]] | None = None
    for delimiter in DELIMITERS:
        if delimiter != "," and delimiter not in text:
            continue
        rows = ((n, c) for n, _, c in records(lines, delimiter) if c is not None)
        found = find_header(rows, known)
        if found is None:
            continue
        score = sum(1 for h in found[1] if normalise_text(h) in known)
        if best is None or score > best[0]:
            best = (score, delimiter, *found)
    return None if best is None else (lines, best[1], best[2], best[3])


def _data(
    lines: list[str], delimiter: str, header_at: int, width: int, problems: list[RowProblem]
) -> Iterator[tuple[int, Sequence[object]]]:
    """The rows below the header; broken ones go to `problems`, with their line."""
    for number, line, cells in records(lines, delimiter, width):
        if number <= header_at:
            continue
        if cells is None:
            problems.append(
                RowProblem(
                    number,
                    "malformed_row",
                    f'line {line}: a quote (") is opened and never closed, or text follows '
                    "a closing quote; the row cannot be split into cells",
                )
            )
            continue
        yield number, cells


def count_csv_rows(data: bytes) -> int:
    """Data rows below the header (the タイムスタンプ row, else the first non-empty row),
    broken rows included, without a form."""
    text, _ = decode_csv_bytes(data)
    table = _table(text, _META)
    if table is None:
        return 0
    lines, delimiter, header_at, headers = table
    problems: list[RowProblem] = []
    numbers, _ = collect(_data(lines, delimiter, header_at, len(headers), problems), [])
    return len(numbers) + len(problems)


def read_googleforms_csv(data: bytes, source_file: str, form: Form) -> ParsedExport:
    try:
        text, encoding = decode_csv_bytes(data)
    except EncodingError as exc:
        return unreadable(source_file, f"not a readable CSV export ({exc})")
    header_of = {f.column: grid_header(f) for f in form.fields}
    table = _table(text, _META | {normalise_text(h) for h in header_of.values()})
    if table is None:
        return unreadable(source_file, "the file is empty")
    lines, delimiter, header_at, headers = table
    del table, text  # the lines are all that is read from now on
    problems: list[RowProblem] = []
    norm_headers = [normalise_text(h) for h in headers]
    positions, missing = match_headers(form, headers, header_of)
    names = ([TIMESTAMP_HEADER] if TIMESTAMP_HEADER not in norm_headers else []) + [
        header_of[f.column] for f in missing
    ]
    if names:
        numbers, _ = collect(_data(lines, delimiter, header_at, len(headers), problems), [])
        return ParsedExport(
            source_file,
            len(numbers) + len(problems),
            problem=missing_column_problem(source_file, names),
            encoding=encoding,
        )
    used = set(positions.values())
    personal = [i for i, h in enumerate(headers) if i not in used and is_personal_header(h)]
    ts_at = norm_headers.index(TIMESTAMP_HEADER)
    numbers, columns = collect(
        _data(lines, delimiter, header_at, len(headers), problems),
        [ts_at, *personal, *(positions[f.column] for f in form.fields)],
    )
    del lines
    stamps = ["" if v is None else str(v) for v in columns[0]]
    scrub = scrubber_of(columns[1 : 1 + len(personal)])
    del columns[1 : 1 + len(personal)]  # personal values go no further than the scrubber
    values = {
        f.column: field_cells(f, ["" if v is None else v for v in col], SEPARATORS, scrub)
        for f, col in zip(form.fields, columns[1:], strict=True)
    }
    submitted = [parse_google_timestamp(s, form.timezone) for s in stamps]
    unread = [
        None if t is not None or not s.strip() else scrub(s)
        for t, s in zip(submitted, stamps, strict=True)
    ]
    # Anonymous form: a response is its submission time plus its answers, so a repeat of it
    # in a later export has the same key. Built column by column, in the form's order.
    keys = pd.Series(
        [
            f"at={t.isoformat() if t is not None else scrub(s)}"
            for t, s in zip(submitted, stamps, strict=True)
        ],
        dtype=object,
    )
    for column, cells in values.items():
        shown = {
            v: f"|{column}={';'.join(v) if isinstance(v, tuple) else v}"
            for v in dict.fromkeys(cells)
        }
        keys = keys + pd.Series([shown[v] for v in cells], dtype=object)
    frame = pd.DataFrame(
        {
            "source_file": [source_file] * len(numbers),
            "source_row": numbers,
            "submitted_at": submitted,
            "response_key": keys.tolist(),
            **values,
            SUBMITTED_TEXT: unread,
        }
    )
    return ParsedExport(
        source_file,
        len(numbers) + len(problems),
        frame=frame,
        encoding=encoding,
        row_problems=problems,
    )
