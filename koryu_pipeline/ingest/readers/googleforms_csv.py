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

How it reads, without a Python object per cell: the header is found by the csv module
(`records`, the reference reader). A byte scan of the UTF-8 text (numpy; the quote, the
delimiter and the line breaks are single bytes in UTF-8) then finds the records as the csv
module splits them wherever every quote pairs up soundly -- it opens a cell or closes one
before a delimiter or a line break -- and the records it cannot vouch for: a quote that does
not pair up, one never closed, a record past MAX_RECORD_LINES or of several lines and not
the header's width. Arrow's CSV reader (C, multithreaded) reads the runs between those; the
csv module reads the header and above and each doubtful record, as before, until Arrow can
take over again (so a broken row costs its region, not the file). The cells stay Arrow
columns: each field's distinct values are converted once, the timestamps parsed in bulk,
the response key joined in bulk.
"""

from __future__ import annotations

import csv
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from koryu_pipeline.codebook import Field, Form, normalise_text
from koryu_pipeline.ingest.readers.base import (
    SUBMITTED_TEXT,
    TEXT_DTYPE,
    Coded,
    ParsedExport,
    RowProblem,
    blank_cells,
    collect,
    factorize,
    field_column,
    find_header,
    frame_column,
    is_personal_header,
    join_text,
    match_headers,
    missing_column_problem,
    scrubber_of_arrays,
    unreadable,
)
from koryu_pipeline.ingest.readers.normalise import (
    EncodingError,
    decode_csv_bytes,
    parse_google_timestamps,
    utf8_csv,
)

TIMESTAMP_HEADER = "タイムスタンプ"
SEPARATORS = (";", ", ")
DELIMITERS = (",", "\t")  # Google's CSV; Excel's "Unicode text" is tab-separated
# A quoted cell may hold line breaks; one spanning more lines than this is a quote left open.
MAX_RECORD_LINES = 200
_META = frozenset({TIMESTAMP_HEADER})
# \r, \n and \r\n end a line, nothing else (as io.StringIO(text, newline="") splits it)
_LINE = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+")
_QUOTE, _LF, _CR = ord('"'), ord("\n"), ord("\r")
_BOM = b"\xef\xbb\xbf"
_SCAN_BYTES = 1 << 25  # bytes compared at a time by the scan (bounds its temporary arrays)
_PYTHON_BATCH = 1 << 16  # rows the Python reader hands over to Arrow at a time
ARROW_RUN = 16  # records in a row Arrow must be able to read for it to take over

# No ceiling on a cell's size: a long answer is data, not a reason to drop the file.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def grid_header(field: Field) -> str:
    if field.item is None:
        return field.entry.header
    return f"{field.entry.header} [{field.item.label}]"


class TextLines:
    """The text's physical lines, split (and decoded) only as far as they are read: the
    header is found in the first rows of a file of a million. `pieces` are the text in
    order, each ending where a line does."""

    def __init__(self, pieces: Iterable[str]) -> None:
        self._pieces = iter(pieces)
        self._split: Iterator[re.Match[str]] = iter(())
        self._lines: list[str] = []

    def has(self, index: int) -> bool:
        while len(self._lines) <= index:
            match = next(self._split, None)
            if match is None:
                piece = next(self._pieces, None)
                if piece is None:
                    return False
                self._split = _LINE.finditer(piece)
                continue
            self._lines.append(match.group())
        return True

    def __getitem__(self, index: int) -> str:
        return self._lines[index]


class Lines(Protocol):
    """A text's physical lines, by index."""

    def has(self, index: int) -> bool: ...

    def __getitem__(self, index: int) -> str: ...


class _ScannedLines:
    """The physical lines of UTF-8 bytes whose line starts the scan found: each decoded when
    read, none kept (the csv module reads a few lines here and there)."""

    def __init__(self, utf8: memoryview, starts: np.ndarray) -> None:
        self.utf8, self.starts = utf8, starts

    def has(self, index: int) -> bool:
        return index < len(self.starts)

    def __getitem__(self, index: int) -> str:
        start = int(self.starts[index])
        stop = int(self.starts[index + 1]) if index + 1 < len(self.starts) else len(self.utf8)
        return bytes(self.utf8[start:stop]).decode("utf-8")


class _Lines:
    """The file's physical lines from `start`, for csv.reader, counting what it consumed.
    A record may take at most MAX_RECORD_LINES lines: past that the reader sees the end of
    the file (and reports the open quote), so a stray quote costs a bounded re-read."""

    def __init__(self, lines: Lines, start: int) -> None:
        self.lines, self.next, self.record_start = lines, start, start

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if not self.lines.has(self.next) or self.next - self.record_start >= MAX_RECORD_LINES:
            raise StopIteration
        self.next += 1
        return self.lines[self.next - 1]


def records_from(
    lines: Lines, delimiter: str, width: int | None, pos: int, number: int
) -> Iterator[tuple[int, int, list[str] | None, int]]:
    """`records` from line index `pos` on (a reader starting there), rows numbered after
    `number`; each with the index of the line the next record starts on."""
    while lines.has(pos):
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
            if cells is None:
                yield number, start + 1, None, start + 1
                pos = start + 1  # a new reader: the old one is inside the open quote
                break
            yield number, start + 1, cells, feed.next


def records(
    lines: Lines, delimiter: str, width: int | None = None
) -> Iterator[tuple[int, int, list[str] | None]]:
    """(row number, first line, cells) per CSV record, rows numbered as a spreadsheet shows
    them and lines as a text editor does; cells None for a record whose quoting is broken
    (strict parsing fails, or -- given the header `width` -- it spans several lines yet does
    not have `width` cells). Parsing resumes on the line after the broken record's first
    line, so every later row is read as itself."""
    for number, line, cells, _ in records_from(lines, delimiter, width, 0, 0):
        yield number, line, cells


@dataclass(frozen=True)
class _Header:
    delimiter: str
    row: int  # its row number
    cells: list[str]


def _header(lines: TextLines, present: set[str], known: frozenset[str]) -> _Header | None:
    """The delimiter under which a header names the most `known` headers (comma on a tie),
    and that header; delimiters other than the comma only when `present` in the text. None
    when empty."""
    best: tuple[int, _Header] | None = None
    for delimiter in DELIMITERS:
        if delimiter != "," and delimiter not in present:
            continue
        rows = ((n, c) for n, _, c in records(lines, delimiter) if c is not None)
        found = find_header(rows, known)
        if found is None:
            continue
        score = sum(1 for h in found[1] if normalise_text(h) in known)
        if best is None or score > best[0]:
            best = (score, _Header(delimiter, *found))
    return None if best is None else best[1]


def _malformed(number: int, line: int) -> RowProblem:
    return RowProblem(
        number,
        "malformed_row",
        f'line {line}: a quote (") is opened and never closed, or text follows a closing '
        "quote; the row cannot be split into cells",
    )


@dataclass
class Rows:
    """The non-empty data rows of a file: their numbers, their cells at the columns asked
    for (text, "" where a row is short of them) and the rows that could not be split."""

    numbers: np.ndarray  # int64
    columns: list[pa.ChunkedArray]
    problems: list[RowProblem] = field(default_factory=list)
    by_arrow: int = 0  # records (of the whole file) Arrow read, the others the csv module

    @property
    def count(self) -> int:
        return len(self.numbers) + len(self.problems)


def _no_rows(indices: Sequence[int]) -> Rows:
    empty = pa.chunked_array([], pa.large_string())
    return Rows(np.zeros(0, np.int64), [empty for _ in indices])


def _structure(data: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where the quotes, line feeds and carriage returns are, in one pass: bytes up to the
    quote's (34), the others of them (controls, space, "!") dropped."""
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for i in range(0, len(data), _SCAN_BYTES):
        block = data[i : i + _SCAN_BYTES]
        at = np.flatnonzero(block <= _QUOTE)
        byte = block[at]
        at += i
        found.append((at[byte == _QUOTE], at[byte == _LF], at[byte == _CR]))
    if not found:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    quotes, lf, cr = (np.concatenate(parts) for parts in zip(*found, strict=True))
    return quotes, lf, cr


@dataclass
class _Layout:
    """The records of the text as a reader starting after an even (parity 0) or an odd
    (parity 1) number of quotes splits them, as long as its quotes pair up cleanly: quotes
    pair from the first one after the start, a byte is inside a quoted cell after an odd
    number of them, records end at line breaks outside."""

    parity: int
    starts: np.ndarray  # a record's first byte
    ends: np.ndarray  # the byte after its text (its line break excluded)
    first_line: np.ndarray  # index of its first physical line
    lines: np.ndarray  # physical lines it spans
    doubtful: np.ndarray  # sorted indices of the records read as this layout says only
    # when their quoting is sound: the Python reader reads them (see Scan.doubtful)


class Scan:
    """The structure of a file's UTF-8 bytes, from one pass over them: where lines start and
    its records under either pairing of the quotes, and which records the Python reader
    might read otherwise than Arrow (`doubtful`): Arrow reads the runs between those."""

    def __init__(self, data: np.ndarray, delimiter: str, width: int) -> None:
        self.data, self.delimiter, self.width = data, ord(delimiter), width
        size = len(data)
        self.quotes, lf, cr = _structure(data)
        lone_cr = cr[data[np.minimum(cr + 1, size - 1)] != _LF]
        # the last byte of each line break; \r\n is one
        self.line_ends = np.sort(np.concatenate([lf, lone_cr])) if len(lone_cr) else lf
        line_starts = np.concatenate([[0], self.line_ends + 1]).astype(np.int64)
        self.line_starts = line_starts[:-1] if line_starts[-1] == size else line_starts
        crlf = (data[self.line_ends] == _LF) & (self.line_ends > 0)
        crlf &= data[np.maximum(self.line_ends - 1, 0)] == _CR
        self.break_starts = self.line_ends - crlf
        bounds = np.array([self.delimiter, _LF, _CR, _QUOTE], dtype=np.uint8)
        q = self.quotes
        # a quote may open a cell after a delimiter, a line break, the start or a closing
        # quote (then it is an escaped one); close one before a delimiter, a line break,
        # the end or a quote (escaped)
        self.may_open = (q == 0) | np.isin(data[np.maximum(q - 1, 0)], bounds)
        self.may_close = (q == size - 1) | np.isin(data[np.minimum(q + 1, size - 1)], bounds)
        self._layouts: dict[int, _Layout] = {}

    @property
    def size(self) -> int:
        return len(self.data)

    def layout(self, parity: int) -> _Layout:
        if parity not in self._layouts:
            self._layouts[parity] = self._layout(parity)
        return self._layouts[parity]

    def _layout(self, parity: int) -> _Layout:
        q, size = self.quotes, self.size
        outside = np.searchsorted(q, self.line_ends) % 2 == parity
        starts = np.concatenate([[0], self.line_ends[outside] + 1]).astype(np.int64)
        ends = np.concatenate([self.break_starts[outside], [size]]).astype(np.int64)
        if starts[-1] == size and len(starts) > 1:  # the text ends with a line break
            starts, ends = starts[:-1], ends[:-1]
        first_line = np.searchsorted(self.line_ends, starts)
        lines = np.diff(np.append(first_line, len(self.line_starts)))
        # quotes that do not pair up cleanly: the pair's opening quote is where it goes wrong
        opening = np.arange(parity, len(q) - 1, 2)
        unsound = opening[~(self.may_open[opening] & self.may_close[opening + 1])]
        at = [q[unsound]]
        if len(q) > parity and (len(q) - parity) % 2:  # the last quote is never closed
            at.append(q[-1:])
        doubtful = [np.searchsorted(starts, np.concatenate(at), "right") - 1]
        # a record longer than MAX_RECORD_LINES, or of several lines and another width than
        # the header's: the Python reader reports it and reads its lines again
        doubtful.append(np.flatnonzero(lines > MAX_RECORD_LINES))
        several = np.flatnonzero((lines > 1) & (lines <= MAX_RECORD_LINES))
        doubtful.append(several[self.cells(parity, starts[several], ends[several]) != self.width])
        doubtful_all = np.unique(np.concatenate(doubtful))
        return _Layout(parity, starts, ends, first_line, lines, doubtful_all)

    def cells(self, parity: int, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """How many cells the records [starts, ends) (ascending) have under `parity` (0:
        an empty line): the delimiters outside quotes, plus one."""
        delimiters = np.zeros(len(starts), np.int64)
        if not len(starts):
            return delimiters
        if int((ends - starts).sum()) * 4 > self.size:  # much of the text: one pass over it
            spans = [(int(starts[0]), int(ends[-1]))]
        else:  # their own bytes
            spans = list(zip(starts.tolist(), ends.tolist(), strict=True))
        for first, last in spans:
            for i in range(first, last, _SCAN_BYTES):
                block = self.data[i : min(i + _SCAN_BYTES, last)]
                at = np.flatnonzero(block == self.delimiter) + i
                at = at[np.searchsorted(self.quotes, at) % 2 == parity]
                record = np.searchsorted(starts, at, "right") - 1
                at, record = at[record >= 0], record[record >= 0]
                record = record[at < ends[record]]
                delimiters += np.bincount(record, minlength=len(starts))
        return np.where(ends > starts, delimiters + 1, 0)

    def run(self, line: int) -> tuple[_Layout, int, int] | None:
        """(layout, first, stop): the records a reader starting on line index `line` reads
        as the layout says, up to the first doubtful one; None when they are fewer than
        ARROW_RUN (and the file goes on)."""
        at = int(self.line_starts[line])
        layout = self.layout(int(np.searchsorted(self.quotes, at)) % 2)
        first = int(np.searchsorted(layout.starts, at))
        if first >= len(layout.starts) or layout.starts[first] != at:
            return None
        if bytes(self.data[at : at + 3]) == _BOM:  # Arrow would drop it
            return None
        next_doubt = int(np.searchsorted(layout.doubtful, first))
        stop = (
            int(layout.doubtful[next_doubt])
            if next_doubt < len(layout.doubtful)
            else len(layout.starts)
        )
        if stop - first < ARROW_RUN and stop < len(layout.starts):
            return None  # a few records: the csv module reads them as fast
        return layout, first, stop


def _arrow_table(
    buffer: memoryview, delimiter: str, width: int, longest: int, breaks: bool
) -> tuple[pa.Table, int]:
    """The rows of `width` cells, and how many rows of another width it skipped. `breaks`:
    a cell holds a line break (else Arrow splits the text into blocks at any line end)."""
    names = [str(i) for i in range(width)]
    skipped = 0

    def skip(_row: object) -> str:  # a row of another width: read by the Python reader
        nonlocal skipped
        skipped += 1
        return "skip"

    table = pacsv.read_csv(
        pa.BufferReader(pa.py_buffer(buffer)),
        read_options=pacsv.ReadOptions(
            column_names=names, block_size=max(1 << 24, 2 * longest + 16)
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=delimiter,
            quote_char='"',
            double_quote=True,
            escape_char=False,
            newlines_in_values=breaks,
            ignore_empty_lines=True,
            invalid_row_handler=skip,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.large_string()),
            null_values=[],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    return table, skipped


def _arrow_run(
    scan: Scan,
    utf8: memoryview,
    delimiter: str,
    run: tuple[_Layout, int, int],
    number: int,
    indices: Sequence[int],
) -> Rows | None:
    """The records of `run` (numbered after `number`), read by Arrow -- the rows of another
    width than the header's by the csv module, one by one -- as the Python reader reads
    them; None if Arrow does not split them as the scan does."""
    layout, first, stop = run
    width = scan.width
    starts, ends = layout.starts[first:stop], layout.ends[first:stop]
    numbers = np.arange(number + 1, number + 1 + stop - first, dtype=np.int64)
    begin = int(starts[0])
    end = int(layout.starts[stop]) if stop < len(layout.starts) else scan.size
    lengths = ends - starts
    longest = int(lengths.max())
    if 2 * longest + 16 >= 2**31:
        return None
    breaks = bool((layout.lines[first:stop] > 1).any())
    table, skipped = _arrow_table(utf8[begin:end], delimiter, width, longest, breaks)
    if skipped or table.num_rows != np.count_nonzero(lengths):
        cells = scan.cells(layout.parity, starts, ends)
        regular = cells == width
        if table.num_rows != np.count_nonzero(regular):
            return None
        other = np.flatnonzero(~regular & (cells > 0))
    else:
        regular = lengths > 0
        other = np.zeros(0, np.int64)
    keep = np.zeros(table.num_rows, dtype=bool)
    for column in table.columns:  # empty_row: every cell blank
        keep |= ~blank_cells(column)
        if keep.all():
            break
    kept = numbers[regular][keep]
    every = bool(keep.all())
    columns = [
        _empty_texts(len(kept))  # past the header's width: no row has it
        if i >= width
        else table.column(i)
        if every
        else pc.filter(table.column(i), keep)
        for i in indices
    ]
    del table
    if len(other):  # rows of another width, one by one as the Python reader reads them
        texts = (bytes(scan.data[starts[i] : ends[i]]).decode("utf-8") for i in other)
        rows = [
            (int(numbers[i]), next(csv.reader([text], delimiter=delimiter, strict=True)))
            for i, text in zip(other, texts, strict=True)
        ]
        odd_numbers, odd_columns = collect(rows, indices)
        if odd_numbers:
            merged = np.concatenate([kept, np.array(odd_numbers, np.int64)])
            order = pa.array(np.argsort(merged, kind="stable"))
            columns = [
                pc.take(
                    pa.chunked_array(
                        [
                            *col.chunks,
                            pa.array(["" if v is None else v for v in odd], pa.large_string()),
                        ],
                        pa.large_string(),
                    ),
                    order,
                )
                for col, odd in zip(columns, odd_columns, strict=True)
            ]
            kept = merged[order.to_numpy()]
    return Rows(kept, columns)


def mixed_rows(export: _Export, header: _Header, indices: Sequence[int]) -> Rows:
    """The data rows as the csv module reads them record by record (`records`): the runs
    of records the scan vouches for read by Arrow, the others (a broken quote and what it
    disturbs) by the csv module, record by record, until Arrow can take over again."""
    delimiter, width = header.delimiter, len(header.cells)
    scan = Scan(np.frombuffer(export.utf8, np.uint8), delimiter, width)
    lines = _ScannedLines(export.utf8, scan.line_starts)
    parts: list[Rows] = []
    problems: list[RowProblem] = []
    line, number, total, by_arrow = 0, 0, len(scan.line_starts), 0
    while line < total:
        # the header and what is above it by the csv module (as it found the header)
        run = scan.run(line) if number >= header.row else None
        if run is not None:
            part = _arrow_run(scan, export.utf8, delimiter, run, number, indices)
            if part is not None:
                parts.append(part)
                layout, _, stop = run
                number += stop - run[1]
                by_arrow += stop - run[1]
                line = int(layout.first_line[stop]) if stop < len(layout.starts) else total
                continue
        found: list[tuple[int, Sequence[object]]] = []
        python = records_from(lines, delimiter, width, line, number)
        line = total  # unless Arrow can take over before the end
        for row, first, cells, after in python:
            number = row
            if row > header.row:
                if cells is None:
                    problems.append(_malformed(row, first))
                else:
                    found.append((row, cells))
            if len(found) >= _PYTHON_BATCH:
                parts.append(_python_part(found, indices))
                found = []
            if after >= total or (row >= header.row and scan.run(after) is not None):
                line = after
                break
        if found:
            parts.append(_python_part(found, indices))
    out = _no_rows(indices)
    out.problems, out.by_arrow = problems, by_arrow
    parts = [p for p in parts if len(p.numbers)]
    if parts:  # all below the header: Arrow starts after it, the csv module skips it
        out.numbers = np.concatenate([p.numbers for p in parts])
        out.columns = [
            pa.chunked_array([c for p in parts for c in p.columns[k].chunks], pa.large_string())
            for k in range(len(indices))
        ]
    return out


def _empty_texts(n: int) -> pa.ChunkedArray:
    offsets = pa.py_buffer(np.zeros(n + 1, np.int64))
    return pa.chunked_array([pa.LargeStringArray.from_buffers(n, offsets, pa.py_buffer(b""))])


def _python_part(found: list[tuple[int, Sequence[object]]], indices: Sequence[int]) -> Rows:
    numbers, columns = collect(found, indices)
    texts = [pa.array(["" if v is None else v for v in c], pa.large_string()) for c in columns]
    return Rows(np.array(numbers, np.int64), [pa.chunked_array([t]) for t in texts])


def _utf8_pieces(data: bytes, start: int, size: int = 1 << 20) -> Iterator[str]:
    """UTF-8 bytes from `start` decoded about `size` bytes at a time, each piece ending with
    a line (after a \\n byte, which is never part of another character)."""
    while start < len(data):
        cut = data.find(b"\n", start + size)
        stop = len(data) if cut < 0 else cut + 1
        yield data[start:stop].decode("utf-8")
        start = stop


class _Export:
    """A CSV export: its lines (for the header search and the Python reader) and its UTF-8
    bytes (for the byte scan and Arrow). A UTF-8 file is never decoded whole: its bytes are
    the file's own, its lines decoded as far as they are read."""

    def __init__(self, data: bytes) -> None:
        """Raises EncodingError as decode_csv_bytes does."""
        utf8 = utf8_csv(data)
        if utf8 is None:
            text, self.encoding = decode_csv_bytes(data)
            self.utf8 = memoryview(text.encode("utf-8"))
            self.lines = TextLines([text])
            self.delimiters = {d for d in DELIMITERS if d in text}
        else:
            self.utf8, self.encoding = utf8
            self.lines = TextLines(_utf8_pieces(data, len(data) - len(self.utf8)))
            self.delimiters = {d for d in DELIMITERS if d.encode() in data}

    def header(self, known: frozenset[str]) -> _Header | None:
        return _header(self.lines, self.delimiters, known)

    def rows(self, header: _Header, indices: Sequence[int]) -> Rows:
        return mixed_rows(self, header, indices)


def count_csv_rows(data: bytes) -> int:
    """Data rows below the header (the タイムスタンプ row, else the first non-empty row),
    broken rows included, without a form."""
    export = _Export(data)
    header = export.header(_META)
    if header is None:
        return 0
    return export.rows(header, []).count


def read_googleforms_csv(data: bytes, source_file: str, form: Form) -> ParsedExport:
    try:
        export = _Export(data)
    except EncodingError as exc:
        return unreadable(source_file, f"not a readable CSV export ({exc})")
    encoding = export.encoding
    header_of = {f.column: grid_header(f) for f in form.fields}
    header = export.header(_META | {normalise_text(h) for h in header_of.values()})
    if header is None:
        return unreadable(source_file, "the file is empty")
    headers = header.cells
    norm_headers = [normalise_text(h) for h in headers]
    positions, missing = match_headers(form, headers, header_of)
    names = ([TIMESTAMP_HEADER] if TIMESTAMP_HEADER not in norm_headers else []) + [
        header_of[f.column] for f in missing
    ]
    if names:
        return ParsedExport(
            source_file,
            export.rows(header, []).count,
            problem=missing_column_problem(source_file, names),
            encoding=encoding,
        )
    used = set(positions.values())
    personal = [i for i, h in enumerate(headers) if i not in used and is_personal_header(h)]
    ts_at = norm_headers.index(TIMESTAMP_HEADER)
    rows = export.rows(header, [ts_at, *personal, *(positions[f.column] for f in form.fields)])
    del export  # the text, its lines and Arrow's buffers: only the columns are read on
    frame = _frame(rows, len(personal), form, source_file)
    return ParsedExport(
        source_file, rows.count, frame=frame, encoding=encoding, row_problems=rows.problems
    )


def _frame(rows: Rows, personal: int, form: Form, source_file: str) -> pd.DataFrame:
    """The wide frame of the rows read (columns: the stamps, the personal ones, the form's
    fields): built column by column in Arrow, each distinct cell converted once."""
    n = len(rows.numbers)
    stamps, fields = rows.columns[0], rows.columns[1 + personal :]
    scrub = scrubber_of_arrays(rows.columns[1 : 1 + personal])
    rows.columns = []  # personal values go no further than the scrubber
    if n == 0:  # what pandas makes of empty lists
        return pd.DataFrame(
            {
                "source_file": [],
                "source_row": [],
                "submitted_at": [],
                "response_key": [],
                **{f.column: [] for f in form.fields},
                SUBMITTED_TEXT: [],
            }
        )
    values = {
        f.column: field_column(f, col, SEPARATORS, scrub)
        for f, col in zip(form.fields, fields, strict=True)
    }
    del fields
    submitted = parse_google_timestamps(stamps, form.timezone)
    read = submitted.is_valid().to_numpy(zero_copy_only=False)
    # Anonymous form: a response is its submission time plus its answers, so a repeat of it
    # in a later export has the same key. Joined in the form's order.
    # "at=<isoformat>": Arrow writes whole seconds as "YYYY-MM-DD hh:mm:ss"
    seconds = submitted.cast(pa.timestamp("s")).cast(pa.large_string())
    text = pa.large_string()
    at = pc.binary_join_element_wise(
        pa.scalar("at=", text),
        pc.replace_substring(seconds, " ", "T"),
        pa.scalar("+00:00", text),
        pa.scalar("", text),
    )
    unread = Coded([None], np.zeros(n, np.int64))
    if not read.all():  # the stamp as written, scrubbed: in the key and for the rejection
        failed = np.flatnonzero(~read)
        texts, codes = factorize(pc.take(stamps, pa.array(failed)))
        written = texts.to_pylist()
        scrubbed = [scrub(t) for t in written]
        at = pc.replace_with_mask(
            at,
            pa.array(~read),
            pc.take(pa.array([f"at={t}" for t in scrubbed], pa.large_string()), pa.array(codes)),
        )
        unread.values += [s if t.strip() else None for t, s in zip(written, scrubbed, strict=True)]
        unread.codes[failed] = codes + 1
    del stamps
    shown = [
        (
            pa.array(
                [f"|{column}={';'.join(v) if isinstance(v, tuple) else v}" for v in coded.values],
                pa.large_string(),
            ),
            coded.codes,
        )
        for column, coded in values.items()
    ]
    keys = join_text([at, *shown], n)
    del at, shown
    if read.any():
        times = pd.Series(submitted.to_numpy(zero_copy_only=False)).dt.tz_localize("UTC")
    else:
        times = pd.Series(np.full(n, None, dtype=object), dtype=object)
    return pd.DataFrame(
        {
            "source_file": pd.Series(_repeated(source_file, n), copy=False),
            "source_row": rows.numbers,
            "submitted_at": times,
            "response_key": pd.Series(
                pd.arrays.ArrowStringArray(keys, dtype=TEXT_DTYPE), copy=False
            ),
            **{column: frame_column(coded) for column, coded in values.items()},
            SUBMITTED_TEXT: frame_column(unread),
        },
        copy=False,
    )


def _repeated(text: str, n: int) -> pd.arrays.ArrowStringArray:
    """One text n times, as pandas' text type."""
    encoded = text.encode("utf-8")
    offsets = np.arange(n + 1, dtype=np.int64) * len(encoded)
    array = pa.LargeStringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(encoded * n), null_count=0
    )
    return pd.arrays.ArrowStringArray(array, dtype=TEXT_DTYPE)
