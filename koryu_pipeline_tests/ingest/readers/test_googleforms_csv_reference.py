"""The columnar Google Forms CSV reader against its reference: the record-by-record Python
reader it replaced, kept here verbatim as the oracle (`ref_read_googleforms_csv`). Every file
is real bytes (UTF-8 with and without a BOM, CP932, UTF-16, damaged bytes) written by the csv
module and then broken by hand: quotes never closed, text after a closing quote, quotes
inside cells, line breaks in cells (up to and past MAX_RECORD_LINES), blank and short and
long rows, title rows above the header, CR / LF / CRLF line ends, odd timestamps (午前/午後,
GMT offsets, Asia/Tokyo's DST years, impossible dates), personal data. The reader must give
exactly the oracle's ParsedExport (frame values and dtypes, row numbers, row problems and
their messages); the Arrow reader, where it takes a file, exactly the Python reader's rows.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from koryu_pipeline.codebook import Form, normalise_text
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
from koryu_pipeline.ingest.readers.googleforms_csv import (
    _META,
    ARROW_RUN,
    DELIMITERS,
    MAX_RECORD_LINES,
    SEPARATORS,
    TIMESTAMP_HEADER,
    Rows,
    TextLines,
    _Export,
    count_csv_rows,
    grid_header,
    mixed_rows,
    read_googleforms_csv,
    records,
)
from koryu_pipeline.ingest.readers.normalise import (
    EncodingError,
    decode_csv_bytes,
    parse_google_timestamp,
)
from koryu_pipeline_tests.exports import assert_same_export, hires_form, ministry_form

# ------------------------------------------------------------------ the oracle, verbatim


class RefLines:
    """The file's physical lines from `start`, for csv.reader, counting what it consumed.
    A record may take at most MAX_RECORD_LINES lines: past that the reader sees the end of
    the file (and reports the open quote), so a stray quote costs a bounded re-read."""

    def __init__(self, lines: list[str], start: int) -> None:
        self.lines, self.next, self.record_start = lines, start, start

    def __iter__(self) -> RefLines:
        return self

    def __next__(self) -> str:
        if self.next >= len(self.lines) or self.next - self.record_start >= MAX_RECORD_LINES:
            raise StopIteration
        self.next += 1
        return self.lines[self.next - 1]


def ref_records(
    lines: list[str], delimiter: str, width: int | None = None
) -> Iterator[tuple[int, int, list[str] | None]]:
    """(row number, first line, cells) per CSV record, rows numbered as a spreadsheet shows
    them and lines as a text editor does; cells None for a record whose quoting is broken
    (strict parsing fails, or -- given the header `width` -- it spans several lines yet does
    not have `width` cells). Parsing resumes on the line after the broken record's first
    line, so every later row is read as itself."""
    number, pos = 0, 0
    while pos < len(lines):
        feed = RefLines(lines, pos)
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


def ref_table(text: str, known: frozenset[str]) -> tuple[list[str], str, int, list[str]] | None:
    """(physical lines, delimiter, header row number, header cells): the delimiter under
    which a header names the most `known` headers (comma on a tie). None when empty."""
    lines = list(io.StringIO(text, newline=""))  # \r, \n and \r\n end a line; nothing else
    best: tuple[int, str, int, list[str]] | None = None
    for delimiter in DELIMITERS:
        if delimiter != "," and delimiter not in text:
            continue
        rows = ((n, c) for n, _, c in ref_records(lines, delimiter) if c is not None)
        found = find_header(rows, known)
        if found is None:
            continue
        score = sum(1 for h in found[1] if normalise_text(h) in known)
        if best is None or score > best[0]:
            best = (score, delimiter, *found)
    return None if best is None else (lines, best[1], best[2], best[3])


def ref_data(
    lines: list[str], delimiter: str, header_at: int, width: int, problems: list[RowProblem]
) -> Iterator[tuple[int, Sequence[object]]]:
    """The rows below the header; broken ones go to `problems`, with their line."""
    for number, line, cells in ref_records(lines, delimiter, width):
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


def ref_count_csv_rows(data: bytes) -> int:
    """Data rows below the header (the タイムスタンプ row, else the first non-empty row),
    broken rows included, without a form."""
    text, _ = decode_csv_bytes(data)
    table = ref_table(text, _META)
    if table is None:
        return 0
    lines, delimiter, header_at, headers = table
    problems: list[RowProblem] = []
    numbers, _ = collect(ref_data(lines, delimiter, header_at, len(headers), problems), [])
    return len(numbers) + len(problems)


def ref_read_googleforms_csv(data: bytes, source_file: str, form: Form) -> ParsedExport:
    try:
        text, encoding = decode_csv_bytes(data)
    except EncodingError as exc:
        return unreadable(source_file, f"not a readable CSV export ({exc})")
    header_of = {f.column: grid_header(f) for f in form.fields}
    table = ref_table(text, _META | {normalise_text(h) for h in header_of.values()})
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
        numbers, _ = collect(ref_data(lines, delimiter, header_at, len(headers), problems), [])
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
        ref_data(lines, delimiter, header_at, len(headers), problems),
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


# ------------------------------------------------------------------ comparing


def check(data: bytes, form: Form) -> ParsedExport:
    """The reader equals the oracle on `data` (and so does the row count without a form)."""
    parsed = read_googleforms_csv(data, "hires/2023/x.csv", form)
    assert_same_export(parsed, ref_read_googleforms_csv(data, "hires/2023/x.csv", form))
    try:
        expected = ref_count_csv_rows(data)
    except EncodingError:
        with pytest.raises(EncodingError):
            count_csv_rows(data)
    else:
        assert count_csv_rows(data) == expected
    return parsed


def python_rows(lines: list[str], delimiter: str, header_at: int, indices: list[int]) -> Rows:
    """The rows as the oracle reads them, as `mixed_rows` gives them."""
    problems: list[RowProblem] = []
    width = len(indices) - 1
    numbers, columns = collect(ref_data(lines, delimiter, header_at, width, problems), indices)
    texts = [
        pa.chunked_array([["" if v is None else v for v in c]], pa.large_string()) for c in columns
    ]
    return Rows(np.array(numbers, np.int64), texts, problems)


def arrow_read(data: bytes, form: Form) -> tuple[int, int] | None:
    """(records Arrow read, records below the header), None without a header; the rows
    read (by Arrow and the csv module by turns) are the Python reader's."""
    export = _Export(data)
    header = export.header(_META | {normalise_text(grid_header(f)) for f in form.fields})
    if header is None:
        return None
    width = len(header.cells)
    indices = list(range(width + 1))  # one past the width: a column no row has
    mixed = mixed_rows(export, header, indices)
    lines = list(io.StringIO(decode_csv_bytes(data)[0], newline=""))
    slow = python_rows(lines, header.delimiter, header.row, indices)
    assert mixed.numbers.tolist() == slow.numbers.tolist()
    assert [c.to_pylist() for c in mixed.columns] == [c.to_pylist() for c in slow.columns]
    assert mixed.problems == slow.problems
    below = sum(1 for n, *_ in records(export.lines, header.delimiter, width) if n > header.row)
    return mixed.by_arrow, below


def by_arrow(data: bytes, form: Form) -> bool:
    """Arrow read the whole file."""
    found = arrow_read(data, form)
    return found is not None and found[0] == found[1]


# ------------------------------------------------------------------ writing files


def headers_of(form: Form) -> list[str]:
    return [TIMESTAMP_HEADER, *(grid_header(f) for f in form.fields)]


def render(
    table: Sequence[Sequence[str]], delimiter: str = ",", line_end: str = "\r\n"
) -> list[str]:
    """Rows as the csv module writes them, as physical lines (line ends kept)."""
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator=line_end).writerows(table)
    return list(io.StringIO(buf.getvalue(), newline=""))


ODD_TEXT = [
    "",
    " ",
    "\u3000",
    "\x1c\x1f",
    "\x85",
    'say "hi"',
    '"',
    '""',
    "a,b",
    "a\tb",
    "line\r\nbreak",
    "line\nbreak",
    "line\rbreak",
    "\r\n",
    "x" * 5000,
    "ﾒﾝﾀｰ",
    "３０代",
    " 府省 ",
    "鈴木 一郎",
    "suzuki@example.jp",
    "03-1234-5678",
    "\ufeffBOM",
    "\u2028sep",
    "\x0b\x0c",
    "None",
]

STAMPS = [
    "2023/11/20 15:04:05",
    "2023/11/20 3:04:05 午後 GMT+9",
    "2023/11/20 12:30:00 午前 GMT+9",
    "2023-11-20  9:04 PM",
    "2023/11/20 9:04:05 GMT-5",
    "2023/11/20 9:04:05 UTC+09:30",
    "2023/02/29 10:00:00",
    "2024/02/29 10:00:00",
    "2023/13/01 10:00:00",
    "2023/11/20 24:00:00",
    "1899/12/31 23:59:59",
    "2100/01/01 00:00:00",
    "1948/05/01 23:30:00",
    "1948/05/02 00:30:00",
    "1949/09/10 23:30:00",
    "1950/05/06 12:00:00",
    "1951/09/08 23:30:00",
    "１９５１/09/08 23:30:00",
    "２０２３/11/20 15:04:05",
    "2023/11/20\u300015:04:05",
    " 2023/11/20 15:04:05 ",
    "2023/11/20 15:04:05\n",
    "昨日の午後",
    "",
    "   ",
    "2023/11/20 15:04:05 03-1234-5678",
    "0000/01/01 00:00:00",
]


def cell(rng: random.Random, field, odd: float) -> str:
    entry = field.entry
    if rng.random() < odd:
        return rng.choice(ODD_TEXT)
    labels = [o.label for o in entry.options] or ["自由記述", "テスト省", "回答"]
    if entry.is_multi:
        picked = rng.sample(labels, rng.randint(1, min(3, len(labels))))
        return rng.choice(SEPARATORS).join(picked) + rng.choice(["", ";"])
    return rng.choice(labels)


def stamp(rng: random.Random, odd: float) -> str:
    if rng.random() < odd:
        return rng.choice(STAMPS)
    day, hour, minute, second = (rng.randint(8, 30), rng.randint(0, 23), *rng.sample(range(60), 2))
    return f"2023/11/{day} {hour}:{minute:02}:{second:02}"


def table_of(
    rng: random.Random, form: Form, rows: int, odd: float, personal: bool
) -> list[list[str]]:
    header = headers_of(form)
    if personal:
        header += ["メールアドレス", "お名前", "備考"]
    body = []
    for _ in range(rows):
        row = [stamp(rng, odd), *(cell(rng, f, odd) for f in form.fields)]
        if personal:
            row += [
                rng.choice(["a@example.jp", "", "b@example.jp"]),
                rng.choice(["鈴木 一郎", "佐藤 花子", ""]),
                rng.choice(ODD_TEXT),
            ]
        body.append(row)
    order = list(range(len(header)))
    if rng.random() < 0.3:
        rng.shuffle(order)
    return [[r[i] for i in order] for r in [header, *body]]


def break_lines(rng: random.Random, lines: list[str], delimiter: str, header_at: int) -> list[str]:
    """A few of the ways people and tools break a CSV, at random lines below `header_at`."""
    out = list(lines)
    for _ in range(rng.randint(0, 4)):
        if len(out) <= header_at + 1:
            break
        at = rng.randrange(header_at + 1, len(out))
        line = out[at]
        body, end = line.rstrip("\r\n"), line[len(line.rstrip("\r\n")) :]
        cells = body.split(delimiter)
        kind = rng.randrange(9)
        if kind == 0:  # a quote opened and never closed
            i = rng.randrange(len(cells))
            cells[i] = '"' + cells[i]
        elif kind == 1:  # text after a closing quote
            cells[rng.randrange(len(cells))] = '"a"x'
        elif kind == 2:  # a quote inside an unquoted cell
            cells[rng.randrange(len(cells))] += 'in"ch'
        elif kind == 3:  # a short row
            cells = cells[: rng.randrange(1, max(2, len(cells)))]
        elif kind == 4:  # a long row
            cells += ["extra", ""]
        elif kind == 5:  # a blank line, or one of nothing but delimiters and spaces
            out.insert(at, rng.choice(["", " ", delimiter * rng.randrange(4), " \u3000 "]) + end)
            continue
        elif kind == 6:  # a line end of another kind
            end = rng.choice(["\r", "\n", "\r\n", "\n\r"])
        elif kind == 7:  # a quote closing on a later line
            cells[rng.randrange(len(cells))] += '"'
        elif kind == 8:  # a line removed (a record split across lines loses a part)
            del out[at]
            continue
        out[at] = delimiter.join(cells) + end
    return out


ENCODINGS = ["utf-8-sig", "utf-8", "cp932", "utf-16", "utf-16-le", "utf-8-tab", "damaged"]


def generated(seed: int) -> tuple[bytes, Form]:
    rng = random.Random(seed)
    form = rng.choice([hires_form(), ministry_form()])
    encoding = rng.choice(ENCODINGS)
    delimiter = "\t" if encoding.startswith("utf-16") or encoding.endswith("tab") else ","
    rows = rng.choice([rng.randint(0, 40), rng.randint(2 * ARROW_RUN, 6 * ARROW_RUN)])
    table = table_of(rng, form, rows, rng.choice([0.0, 0.05, 0.3]), rng.random() < 0.3)
    lines = render(table, delimiter, rng.choice(["\r\n", "\n", "\r"]))
    above = rng.choice([[], [], ["\r\n"], ["交流採用者アンケート 回答\r\n", "\r\n"], [",,,\n"]])
    lines = above + lines
    if rng.random() < 0.6:
        lines = break_lines(rng, lines, delimiter, len(above))
    if rng.random() < 0.2 and lines:  # no line end at the end of the file
        lines[-1] = lines[-1].rstrip("\r\n")
    text = "".join(lines)
    if encoding == "cp932":
        try:
            return text.encode("cp932"), form
        except UnicodeEncodeError:
            encoding = "utf-8"
    if encoding == "damaged":
        data = bytearray(text.encode("utf-8-sig"))
        if len(data) > 200:
            data[rng.randrange(100, len(data))] = 0x81
        return bytes(data), form
    return text.encode(encoding.removesuffix("-tab")), form


# ------------------------------------------------------------------ the tests

SEEDS = 400
BATCH = 50
READ: dict[int, tuple[int, int] | None] = {}  # seed -> (records Arrow read, records)


def read_generated(seed: int) -> tuple[int, int] | None:
    if seed not in READ:
        data, form = generated(seed)
        try:
            READ[seed] = arrow_read(data, form)
        except EncodingError:
            READ[seed] = None
    return READ[seed]


@pytest.mark.parametrize("batch", range(SEEDS // BATCH))
def test_generated_files_read_as_the_reference(batch):
    for seed in range(batch * BATCH, (batch + 1) * BATCH):
        data, form = generated(seed)
        check(data, form)
        read_generated(seed)


def test_the_generated_files_are_read_every_way():
    """Not a vacuous comparison: generated files are read by Arrow whole, by Arrow and the
    csv module by turns (a broken row amid clean ones), and by the csv module alone."""
    found = [r for r in map(read_generated, range(SEEDS)) if r is not None and r[1]]
    whole = sum(1 for a, n in found if a == n)
    mixed = sum(1 for a, n in found if 0 < a < n)
    python = sum(1 for a, n in found if a == 0)
    assert whole > SEEDS // 4 and mixed > SEEDS // 10 and python > SEEDS // 40, (
        whole,
        mixed,
        python,
    )


def one_file(
    rows: list[list[str]], form: Form | None = None, line_end: str = "\r\n", above: str = ""
) -> bytes:
    form = form or hires_form()
    return (above + "".join(render([headers_of(form), *rows], ",", line_end))).encode("utf-8")


def row(stamp_text: str = "2023/11/20 15:04:05", **cells: str) -> list[str]:
    form = hires_form()
    base = {
        "host_org_type": "府省",
        "age_band": "30代",
        "industry": "製造業",
        "satisfaction_1": "満足",
        "satisfaction_2": "やや満足",
        "satisfaction_3": "満足",
        "support_wishes": "上司等との面談機会の充実, 特になし",
    }
    base.update(cells)
    return [stamp_text, *(base[f.column] for f in form.fields)]


def test_odd_timestamps_in_bulk():
    stamps = [*STAMPS]
    for day in ("1948/05/01", "1948/09/11", "1949/04/02", "1951/09/08", "1951/09/09"):
        stamps += [f"{day} {h}:{m:02}:00" for h in range(24) for m in (0, 30, 59)]
    data = one_file([row(s) for s in stamps])
    assert by_arrow(data, hires_form())
    parsed = check(data, hires_form())
    assert parsed.frame["submitted_at"].isna().sum() > 5  # some are not times at all


def test_no_timestamp_read_at_all():
    data = one_file([row("昨日"), row(""), row("今日 03-1234-5678")])
    parsed = check(data, hires_form())
    assert parsed.frame["submitted_at"].dtype == object


@pytest.mark.parametrize("lines", [2, MAX_RECORD_LINES - 1, MAX_RECORD_LINES, MAX_RECORD_LINES + 1])
def test_a_cell_of_many_lines(lines):
    rows = [row(), row(industry="\r\n".join(["行"] * lines)), row()]
    data = one_file(rows)
    assert by_arrow(data, hires_form()) is (lines <= MAX_RECORD_LINES)
    check(data, hires_form())


def test_a_record_of_several_lines_with_another_width():
    """A quote closing on a later line merges lines into a record of the wrong width: the
    Python reader reports it and reads the lines again, so the Arrow reader must not."""
    lines = render([headers_of(hires_form()), row(), row(), row()])
    lines[1] = lines[1].replace(",府省,", ',"府省,', 1)
    lines[2] = lines[2].replace(",府省,", ',府省",', 1)
    data = "".join(lines).encode()
    assert by_arrow(data, hires_form()) is False
    parsed = check(data, hires_form())
    assert parsed.row_problems


@pytest.mark.parametrize(
    "above",
    [
        '"title\r\nspanning",two\r\n',  # two lines, two cells: reported, re-read
        '"title\r\nspanning,two\r\n',  # never closed
        '"title, of",one\r\n\r\n',
    ],
)
def test_a_broken_record_above_the_header(above):
    """Above the header the csv module reads (as it found the header), below it Arrow."""
    data = one_file([row() for _ in range(ARROW_RUN)], above=above)
    assert by_arrow(data, hires_form())
    check(data, hires_form())


@pytest.mark.parametrize(
    "cells",
    [
        {"industry": 'ab"c,d"e'},  # quotes inside a cell around a delimiter: literal
        {"industry": 'ab"c', "satisfaction_1": 'd"e'},
        {"industry": "x", "support_wishes": 'ab"c'},
    ],
)
def test_quotes_inside_unquoted_cells(cells):
    form = hires_form()
    lines = render([headers_of(form), row(), row(), row()])
    # written by hand: the csv module would quote these cells
    plain = row(**{k: f"@{k}@" for k in cells})
    text = ",".join(plain)
    for k, v in cells.items():
        text = text.replace(f"@{k}@", v)
    lines[2] = text + "\r\n"
    if len(cells) == 1 and "support_wishes" in cells:  # the quote pairs with one a line below
        lines[3] = lines[3].replace(",府省,", ',府"省,', 1)
    data = "".join(lines).encode()
    assert by_arrow(data, form) is False
    check(data, form)


@pytest.mark.parametrize("line_end", ["\r\n", "\n", "\r"])
def test_blank_short_and_long_rows(line_end):
    lines = render([headers_of(hires_form()), row(), row(), row(), row()], line_end=line_end)
    lines.insert(2, line_end)
    lines.insert(3, "," * 7 + line_end)
    lines.insert(4, " \u3000 ,\x1c" + line_end)
    lines.insert(
        4, ",".join(["\u3000", "\x85", "\u2028", "\x1f", " ", "\t", "\xa0", ""]) + line_end
    )
    lines[5] = lines[5].rstrip("\r\n").rsplit(",", 3)[0] + line_end  # short
    lines[6] = lines[6].rstrip("\r\n") + ",extra,more" + line_end  # long
    lines.append("\n\r\r\n")
    data = "".join(lines).encode()
    assert by_arrow(data, hires_form())
    parsed = check(data, hires_form())
    assert parsed.frame["source_row"].tolist() == [2, 7, 8, 9]


def test_a_byte_order_mark_opening_a_data_row():
    data = one_file([["\ufeff" + row()[0], *row()[1:]], row()])
    check(data, hires_form())


def test_nul_and_control_characters():
    data = one_file([row(industry="製\x00造業"), row(industry="\x0b\x0c\x1d"), row()])
    check(data, hires_form())
    data = one_file([row(industry="製\x00造,業"), row(industry='"\x00"'), row()])
    check(data, hires_form())


def test_a_cell_of_megabytes():
    data = one_file([row(), row(industry="長" * 3_000_000), row()])
    assert by_arrow(data, hires_form())
    check(data, hires_form())


def test_header_only_and_blank_files():
    form = hires_form()
    header = "".join(render([headers_of(form)]))
    for text in (header, header + "\r\n\r\n", header + ",,,,\r\n", "\r\n\r\n", " ", ","):
        check(text.encode(), form)


def test_missing_column_counts_rows_alike():
    form = hires_form()
    rows = [row()[:-1], row()[:-1], ["", "", ""]]
    data = "".join(render([headers_of(form)[:-1], *rows])).encode()
    parsed = check(data, form)
    assert parsed.problem.rule == "missing_column" and parsed.rows == 2


def test_personal_columns_scrub_alike():
    form = hires_form()
    header = [*headers_of(form), "メールアドレス", "お名前"]
    rows = [
        [*row(industry="鈴木　一郎"), "a@example.jp", "鈴木 一郎"],
        [*row(industry="連絡先 03-1234-5678"), "b@example.jp", "佐藤 花子"],
        [*row("佐藤花子"), "", ""],
        row(),  # short: no personal cells
    ]
    data = "".join(render([header, *rows])).encode()
    assert by_arrow(data, form)
    parsed = check(data, form)
    text = " ".join(map(str, parsed.frame.to_numpy().ravel()))
    assert "鈴木" not in text and "佐藤" not in text and "example.jp" not in text


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp932", "utf-16", "utf-16-le", "utf-16-be"])
def test_encodings(encoding):
    form = hires_form()
    delimiter = "\t" if encoding.startswith("utf-16") else ","
    text = "".join(render([headers_of(form), row(), row(industry="建設業")], delimiter))
    data = text.encode(encoding)
    assert by_arrow(data, form)
    check(data, form)


def test_tab_in_a_comma_separated_file():
    data = one_file([row(industry="a\tb"), row()])
    check(data, hires_form())


@pytest.mark.parametrize(
    "text",
    [
        "a\r\nb\rc\nd",
        "\r\r\n\n\r",
        "x\x0by\x0cz\x1c\x1d\x1e\x85\u2028\u2029\n",
        "",
        "no end",
        "\n",
        "\r",
        "end\r",
    ],
)
def test_text_lines_split_as_stringio(text):
    lines = TextLines([text])
    got = []
    while lines.has(len(got)):
        got.append(lines[len(got)])
    assert got == list(io.StringIO(text, newline=""))


def test_utf8_text_is_decoded_piece_by_piece_alike():
    text = "".join(f"行{i}\r\n" if i % 3 else f"{i}\n" for i in range(200_000))
    data = text.encode()
    export = _Export(data)
    got: list[str] = []
    while export.lines.has(len(got)):
        got.append(export.lines[len(got)])
    assert got == list(io.StringIO(text, newline=""))
    assert export.encoding == "utf-8"


@pytest.mark.parametrize("seed", range(6))
def test_a_large_file_broken_in_places(seed):
    """Thousands of rows, a dozen broken in every way: Arrow reads the runs between them,
    the csv module the broken rows and what they disturb -- as the oracle reads it all."""
    rng = random.Random(seed)
    form = rng.choice([hires_form(), ministry_form()])
    lines = render(table_of(rng, form, 3000, 0.05, seed % 2 == 0), ",", "\r\n")
    for _ in range(3):
        lines = break_lines(rng, lines, ",", 1)
    data = "".join(lines).encode(rng.choice(["utf-8", "utf-8-sig", "utf-16"]))
    check(data, form)
    found = arrow_read(data, form)
    assert found is not None and found[1] // 2 < found[0] < found[1]
