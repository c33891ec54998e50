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

How the cells are read. openpyxl (read-only, with a tolerant cell parser) defines what every
cell means: the workbook is opened with it (a damaged or foreign file is rejected by it, with
its message) and it finds the sheet and the header among the first rows. The data rows of the
chosen sheet are read by python-calamine (Rust, several times faster), but only when the file
proves that calamine reads them as openpyxl would (`calamine_cells`): the sheet's XML,
decompressed once, is checked before calamine runs (rows numbered in order, every cell with
its reference, a grid of sane size: calamine holds the sheet as one) and while it parses
(well-formed as openpyxl's parser needs; no cell the two read differently: error cells,
numbers written as 1.0 or 1E3, date serials the two round to different milliseconds or
outside 1900-03-01..9999-12-30, rich text, _xHHHH_ escapes, ...); both must class the same
styles as dates; calamine's values are mapped to openpyxl's (floats to ints, dates to
date-times); ID and 完了時刻, used as written, must not be text calamine may have trimmed.
Otherwise, or when calamine fails, the sheet is read with openpyxl as before: slower, never
different. Forms' own exports take the fast path.
"""

from __future__ import annotations

import io
import re
import threading
import warnings
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from functools import partial
from itertools import compress, islice
from pyexpat import ExpatError, ParserCreate
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from openpyxl import load_workbook
from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.utils.datetime import WINDOWS_EPOCH
from openpyxl.utils.exceptions import CellCoordinatesException, InvalidFileException
from openpyxl.worksheet import _read_only, _reader
from python_calamine import CalamineWorkbook

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
    EARLIEST,
    LATEST,
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
Engine = Literal["auto", "calamine", "openpyxl"]


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
        numbers, _ = data_cells(data, wb, ws, header_at, [])
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


def read_msforms_xlsx(
    data: bytes, source_file: str, form: Form, *, engine: Engine = "auto"
) -> ParsedExport:
    """`engine` is for tests and benchmarks: "openpyxl" reads every cell with openpyxl,
    "calamine" refuses the fallback (raises NotExact); "auto" is what the pipeline uses."""
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
                numbers, _ = data_cells(data, wb, ws, header_at, [], engine=engine)
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
            numbers, columns = data_cells(
                data, wb, ws, header_at, [id_at, sub_at, *personal, *fields], verbatim=2,
                engine=engine,
            )  # fmt: skip
    except UNREADABLE_ERRORS as exc:
        return unreadable(source_file, f"not a readable .xlsx workbook ({exc})")
    ids, stamps = columns[0], columns[1]
    scrub = scrubber_of(columns[2 : 2 + len(personal)])
    del columns[2 : 2 + len(personal)]  # personal values go no further than the scrubber
    field_columns = dict(zip((f.column for f in form.fields), columns[2:], strict=True))
    submitted, keys, unread = stamps_and_keys(ids, stamps, form.timezone, scrub)
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


# ------------------------------------------------------------------ timestamps and keys


def stamps_and_keys(
    ids: Sequence[object], stamps: Sequence[object], tz: str, scrub: Callable[[str], str]
) -> tuple[Any, list[str], list[str | None]]:
    """Per row: the submission time in UTC (a datetime64[us, UTC] column; a list of None when
    no row has one), the response key and the submission cell as written when it is not a
    time. Each distinct cell is converted once; the date-times, all distinct in an export,
    together (exactly as `local_to_utc` would, one by one)."""
    id_codes, id_values = distinct(ids)
    stamp_codes, stamp_values = distinct(stamps)
    micros = _utc_micros(stamp_values, tz)
    valid = micros != _NAT
    at = _isoformat_utc(micros[valid])
    at_text = np.empty(len(stamp_values), dtype=object)
    unread = np.empty(len(stamp_values), dtype=object)
    at_text[valid] = at
    for i in np.flatnonzero(~valid):
        v = stamp_values[i]
        text = scrub(str(v))  # the cell as written: the rejection shows it
        at_text[i] = text
        unread[i] = None if v is None or not str(v).strip() else text
    # Forms numbers responses; with the submission time it identifies a response across a
    # partial and a full export of the same form.
    id_text = np.array(list(map(scrub, map(str, id_values))) or [""], dtype=object)
    keys = "id=" + id_text[id_codes] + "|at=" + at_text[stamp_codes]
    if not valid.any():
        return [None] * len(stamps), keys.tolist(), unread[stamp_codes].tolist()
    submitted = pd.DatetimeIndex(micros[stamp_codes].view("M8[us]")).tz_localize("UTC")
    return submitted.array, keys.tolist(), unread[stamp_codes].tolist()


_NAT = np.iinfo(np.int64).min  # NaT as int64


def _utc_micros(values: Sequence[object], tz: str) -> np.ndarray:
    """`_timestamp` of each value as µs since the epoch (UTC), _NAT for None. Naive
    date-times are localised in bulk; those a clock change makes ambiguous or skips, and
    every other kind of cell, go through `_timestamp` itself."""
    out = np.full(len(values), _NAT, dtype=np.int64)
    objects = np.empty(len(values), dtype=object)
    objects[:] = values
    bulk = np.array(list(map(type, values)), dtype=object) == datetime
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # numpy warns of (and shifts) an aware one
            naive = objects[bulk].astype("M8[us]")
    except UserWarning:
        bulk[:] = False
        naive = np.array([], dtype="M8[us]")
    inside = (naive >= np.datetime64(EARLIEST, "us")) & (naive < np.datetime64(LATEST, "us"))
    at = np.flatnonzero(bulk)[inside]
    local = pd.DatetimeIndex(naive[inside]).tz_localize(
        ZoneInfo(tz), ambiguous="NaT", nonexistent="NaT"
    )
    out[at] = local.tz_convert("UTC").as_unit("us").asi8
    for i in at[np.asarray(local.isna())]:  # folds and gaps: as zoneinfo resolves them
        out[i] = _micros(local_to_utc(values[i], tz))  # type: ignore[arg-type]
    for i in np.flatnonzero(~bulk):
        out[i] = _micros(_timestamp(values[i], tz))
    return out


def _micros(t: pd.Timestamp | None) -> int:
    return _NAT if t is None else int(t.as_unit("us").asm8.view("i8"))  # UTC µs


def _isoformat_utc(micros: np.ndarray) -> np.ndarray:
    """pd.Timestamp(µs, tz=UTC).isoformat() of each value: seconds, then .ffffff only when
    there are microseconds."""
    stamps = micros.view("M8[us]")
    seconds = np.datetime_as_string(stamps, unit="s").astype(object)
    fraction = micros % 1_000_000
    with_us = fraction != 0
    out = seconds + "+00:00"
    if with_us.any():
        digits = np.char.zfill(fraction[with_us].astype(str), 6).astype(object)
        out[with_us] = seconds[with_us] + "." + digits + "+00:00"
    return out


def distinct(values: Sequence[object]) -> tuple[np.ndarray, list[object]]:
    """(index of each value among the distinct ones, the distinct values in first-seen
    order). Values equal in Python but read differently (1, 1.0 and True; 0.0 and -0.0)
    stay apart."""
    types = set(map(type, values))
    if not types & {float, bool} or types <= {bool, str, type(None), datetime}:
        keys: Sequence[object] = values  # equal only when read alike
    else:
        keys = [(type(v), repr(v)) if type(v) is float else (type(v), v) for v in values]
    index: dict[object, int] = {}
    firsts: list[object] = []
    for key, value in zip(dict.fromkeys(keys), _firsts(keys, values), strict=True):
        index[key] = len(firsts)
        firsts.append(value)
    codes = np.fromiter(map(index.__getitem__, keys), dtype=np.intp, count=len(keys))
    return codes, firsts


def _firsts(keys: Sequence[object], values: Sequence[object]) -> list[object]:
    """The value at the first occurrence of each distinct key."""
    if keys is values:
        return list(dict.fromkeys(values))
    seen: dict[object, object] = {}
    for key, value in zip(keys, values, strict=True):
        seen.setdefault(key, value)
    return list(seen.values())


# ------------------------------------------------------------------ reading the data rows


class NotExact(Exception):
    """calamine would not read the sheet exactly as openpyxl does (the reason says why):
    the sheet is read with openpyxl."""


def data_cells(
    data: bytes,
    wb: Any,
    ws: Any,
    header_at: int,
    indices: Sequence[int],
    *,
    verbatim: int = 0,
    engine: Engine = "auto",
) -> tuple[list[int], list[list[object]]]:
    """`collect` over the rows below the header: the non-empty rows' numbers and their cells
    at `indices`, as openpyxl reads them. The first `verbatim` columns' text is used as it
    is written (ID, 完了時刻), not normalised."""
    if engine == "calamine":
        return calamine_cells(data, wb, ws, header_at, indices, verbatim=verbatim)
    if engine == "auto":
        try:
            return calamine_cells(data, wb, ws, header_at, indices, verbatim=verbatim)
        except Exception:  # NotExact, or anything unforeseen: openpyxl reads it as before
            pass
    return openpyxl_cells(ws, header_at, indices)


def openpyxl_cells(
    ws: Any, header_at: int, indices: Sequence[int]
) -> tuple[list[int], list[list[object]]]:
    return collect(_rows_below(ws, header_at), indices)


def calamine_cells(
    data: bytes, wb: Any, ws: Any, header_at: int, indices: Sequence[int], *, verbatim: int = 0
) -> tuple[list[int], list[list[object]]]:
    """What `openpyxl_cells` returns, read by calamine; NotExact when the file does not
    prove calamine reads it the same. (Not detected: one cell, not a row's first, whose
    reference names another row of the sheet than the <row> it is in; Excel calls such a
    file damaged.) Except in the first `verbatim` columns, text may have
    lost white space at its ends (calamine trims a <t> without xml:space="preserve"), and an
    empty cell may read '' and an empty text None: the reader normalises such cells anyway
    (answers, personal values)."""
    if wb.epoch != WINDOWS_EPOCH:
        raise NotExact("1904 date system")
    archive: zipfile.ZipFile = wb._archive
    check_date_styles(archive, wb)
    check_shared_strings(archive)
    xml = sheet_xml(archive, ws._worksheet_path)
    present = sheet_rows(xml)
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # calamine's own errors and any other: openpyxl decides
        raise NotExact(f"calamine: {type(exc).__name__}: {exc}") from exc
    with book:
        # calamine parses the sheet without the GIL: the XML is checked meanwhile
        scan, sheet = _beside(partial(scan_sheet, xml), book, ws.title)
        del xml
        scan.check(wb)
        try:
            if isinstance(sheet, Exception):
                raise sheet
            rows = sheet.to_python(skip_empty_area=False)
        except Exception as exc:
            raise NotExact(f"calamine: {type(exc).__name__}: {exc}") from exc
    _check_top_rows(ws, rows, header_at)
    body = rows[header_at:]
    width = len(body[0]) if body else 0
    columns = list(zip(*body, strict=True)) if width else []
    keep = _non_empty(columns, len(body))
    numbers = (np.flatnonzero(keep) + header_at + 1).tolist()
    # calamine places a cell by its reference, openpyxl in the <row> it is written in
    if not np.isin(numbers, present).all():
        raise NotExact("a cell outside the row it is written in")
    kept = None if keep.all() else keep.tolist()
    picked: list[list[object]] = []
    for i in indices:
        if i >= width:
            picked.append([None] * len(numbers))
            continue
        column = list(columns[i] if kept is None else compress(columns[i], kept))
        picked.append(column)
    if any(str in set(map(type, column)) for column in picked[:verbatim]):
        # text used as it is written: calamine trims the ends of a <t> openpyxl keeps, and
        # reads an empty cell as '' (openpyxl: None, but '' for an empty text)
        verbatim_text(archive, ws._worksheet_path)
    picked = [_as_openpyxl(column, verbatim=n < verbatim) for n, column in enumerate(picked)]
    return numbers, picked


def _beside(
    work: Callable[[], SheetScan], book: CalamineWorkbook, title: str
) -> tuple[SheetScan, Any]:
    """(`work()`, the calamine sheet or the exception getting it), both at once."""
    done: list[SheetScan | BaseException] = []

    def run() -> None:
        try:
            done.append(work())
        except BaseException as exc:
            done.append(exc)

    worker = threading.Thread(target=run, name="xlsx-check", daemon=True)
    worker.start()
    try:
        sheet: Any = book.get_sheet_by_name(title)
    except Exception as exc:
        sheet = exc
    finally:
        worker.join()
    if isinstance(done[0], BaseException):
        raise done[0]
    return done[0], sheet


def _non_empty(columns: Sequence[tuple[object, ...]], n: int) -> np.ndarray:
    """`not empty_row(row)` for each row, column by column (calamine reads an empty cell
    as '')."""
    keep = np.zeros(n, dtype=bool)
    for column in columns:
        values = dict.fromkeys(column)
        blank = {v for v in values if type(v) is str and not v.strip()}
        if not blank:
            return np.ones(n, dtype=bool)  # a column with no blank cell: every row counts
        if len(blank) < len(values):
            keep |= ~np.fromiter(map(blank.__contains__, column), dtype=bool, count=n)
    return keep


def _as_openpyxl(column: list[object], *, verbatim: bool) -> list[object]:
    """calamine's values as openpyxl gives them (an empty cell, '' for calamine, None but
    in an answer column); NotExact for a value whose openpyxl form calamine cannot tell."""
    if _all_text(column):  # most answer columns: left as they are
        return list(map(_EMPTY.get, column, column)) if verbatim and "" in column else column
    types = set(map(type, column))
    if bool in types and float in types:
        return [_openpyxl_value(v) for v in column]  # True == 1.0: no lookup by value
    mapped = {v: _openpyxl_value(v) for v in dict.fromkeys(column)}
    return list(map(mapped.__getitem__, column))


_EMPTY: dict[object, object] = {"": None}


def _all_text(column: list[object]) -> bool:
    try:
        "".join(column)  # type: ignore[arg-type]  # the quickest test that all are str
    except TypeError:
        return False
    return True


# a serial at or above this is no date (10000-01-01): openpyxl keeps a date cell's text
_NO_DATE = 2_958_466


def _openpyxl_value(v: object) -> object:
    t = type(v)
    if t is str:
        return v or None
    if t is float:
        if v >= _NO_DATE:  # type: ignore[operator]
            raise NotExact(f"a number beyond the last date ({v!r}): maybe a date cell")
        return int(v) if v.is_integer() else v  # type: ignore[union-attr]
    if t is date:
        return datetime(v.year, v.month, v.day)  # type: ignore[attr-defined]
    if v is None or t in (datetime, time, bool, int):
        return v
    raise NotExact(f"a {t.__name__} cell")


def _check_top_rows(ws: Any, rows: list[list[object]], header_at: int) -> None:
    """The header and the rows around it, as openpyxl reads them, must be calamine's (but
    for text it may trim, see `calamine_cells`): the same sheet, the same places."""
    count = min(max(header_at + 3, 5), 40)
    padded = [*rows[:count], *[[]] * count]  # calamine stops at the last non-empty row
    for (_, theirs), ours in zip(islice(_rows(ws), count), padded, strict=False):
        width = max(len(theirs), len(ours))
        want = [_loosely(v) for v in [*theirs, *[None] * (width - len(theirs))]]
        got = [_loosely(_openpyxl_value(v)) for v in [*ours, *[""] * (width - len(ours))]]
        if want != got:
            raise NotExact("the first rows differ")


def _loosely(v: object) -> tuple[type, object]:
    """A cell with its type, text without the white space calamine trims, '' as None."""
    if type(v) is str:
        v = v.strip(" \t\r\n") or None
    return type(v), v


# ------------------------------------------------------------------ date styles


_DATE, _DURATION, _OTHER = "date", "duration", "other"
_BUILTIN_FORMATS = {
    **dict.fromkeys(("14", "15", "16", "17", "18", "19", "20", "21", "22", "45", "47"), _DATE),
    "46": _DURATION,
}
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def calamine_format(code: str) -> str:
    """How calamine (formats.rs, detect_custom_number_format) classes a number format."""
    escaped = is_quote = ap = hms = False
    brackets = 0
    prev = " "
    for s in code:
        if escaped:
            escaped = False
        elif s in "_\\*":
            escaped = True
        elif is_quote:
            is_quote = s != '"'
        elif s == '"':
            is_quote = True
        elif s == ";":
            return _OTHER
        elif s == "[":
            brackets = (brackets + 1) % 256
        elif s == "]" and brackets == 1 and hms:
            return _DURATION
        elif s == "]":
            brackets = max(brackets - 1, 0)
        elif s in "aA" and not ap and brackets == 0:
            ap = True
        elif brackets == 0 and (s in "pmPM/" if ap else s in "dmhysDMHYS"):
            return _DATE
        elif not (hms and _ascii_fold(s) == _ascii_fold(prev)):
            hms = prev == "[" and s in "mhsMHS"
        prev = s
    return _OTHER


def _ascii_fold(c: str) -> str:
    return c.lower() if c.isascii() else c


def check_date_styles(archive: zipfile.ZipFile, wb: Any) -> None:
    """Every cell style must be a date for calamine exactly when it is one for openpyxl, and
    none a duration: they convert the serials of those cells themselves."""
    if wb._timedelta_formats:
        raise NotExact("a duration style")
    try:
        root = ET.fromstring(archive.read("xl/styles.xml"))
    except KeyError:
        root = ET.Element("styleSheet")
    except ET.ParseError as exc:
        raise NotExact("styles.xml") from exc
    custom = {
        e.get("numFmtId"): e.get("formatCode")
        for e in root.iterfind(f"{_MAIN}numFmts/{_MAIN}numFmt")
        if e.get("numFmtId") is not None and e.get("formatCode") is not None
    }
    ours = []
    for xf in root.iterfind(f"{_MAIN}cellXfs/{_MAIN}xf"):
        fmt_id = xf.get("numFmtId")
        if fmt_id is None:
            ours.append(_OTHER)
        elif fmt_id in custom:
            ours.append(calamine_format(custom[fmt_id]))  # type: ignore[arg-type]
        else:
            ours.append(_BUILTIN_FORMATS.get(fmt_id, _OTHER))
    if _DURATION in ours:
        raise NotExact("a duration style")
    dates = set(wb._date_formats)
    if 0 in dates:  # calamine reads a cell without a style as a number
        raise NotExact("the default style is a date")
    for i in range(max(len(ours), len(wb._cell_styles), max(dates, default=0) + 1)):
        if (i < len(ours) and ours[i] == _DATE) != (i in dates):
            raise NotExact(f"style {i} is a date for one library only")


# ------------------------------------------------------------------ the sheet's XML


_CHUNK = 1 << 22
# A <v> that is not a plain integer (an index into the shared strings, an ID, a date-only
# serial) or is followed by a formula (calamine keeps what comes last), and a <v> with
# attributes: decimals, dates as text, errors (#N/A), references, text. Each is checked by
# `_check_values`.
_ODD_VALUE = re.compile(rb"<v(?:>(?!(?:[1-9][0-9]{0,14}|0)</v>(?!<f))([^<]*)</v>|( ))")
_RICH_TEXT = re.compile(rb"<r[ >]")  # calamine trims each run
_ODD_CELLS = (
    (re.compile(rb' s="(?![0-9]+")'), "a style that is not a number"),
    (_RICH_TEXT, "rich text"),
    (re.compile(rb"_x00"), "_xHHHH_ escapes"),  # calamine decodes Excel's, openpyxl does not
    # calamine keeps a cell's last value, openpyxl its <v> (or its <is> if inline)
    (re.compile(rb"(?:</v>|</is>)<(?:v|is|f)\b"), "two values in a cell"),
    (re.compile(rb'><is>(?<!t="inlineStr"><is>)'), "an inline text in a cell not typed so"),
)
_DECIMALS = re.compile(rb"(?:[0-9]+\.[0-9]+\n)*[0-9]+\.[0-9]+\n")
# a row's number (b'' if none) and the row its first cell's reference names (b'' if none)
_ROW = re.compile(rb'<row\b(?: r="([0-9]+)")?[^>]*>(?:<c r="[A-Z]+([0-9]+)")?')
# a cell in a column after AZ (its letters), or without a reference ('': calamine would
# count its place itself)
_ODD_REFERENCE = re.compile(rb'<c(?: r="([A-Z]{3}|[B-Z][A-Z])[0-9]| (?!r=")|>|/>)')
# calamine holds a sheet as a grid (down to the last row, across to the last column): one cell
# far from the others (a typo in XFD1048576) would make it huge. openpyxl holds rows as they
# are: such a sheet is left to it.
_MAX_GRID = 20_000_000
_GRID_PER_ROW = 200


def sheet_xml(archive: zipfile.ZipFile, path: str) -> list[bytes]:
    """The sheet's XML, decompressed, in chunks (one pass serves both checks below)."""
    try:
        with archive.open(path) as src:
            return list(iter(partial(src.read, _CHUNK), b""))
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError) as exc:
        raise NotExact(f"the sheet cannot be read ({exc})") from exc


def _row_parts(chunks: Iterable[bytes]) -> Iterator[tuple[str, bytes]]:
    """("head", up to <sheetData), ("rows", whole rows)..., ("tail", after </sheetData>) of
    the XML in `chunks`; NotExact when it has no <sheetData>."""
    carry = b""
    in_head = True
    for chunk in chunks:
        buffer = carry + chunk
        if in_head:
            at = buffer.find(b"<sheetData")
            if at < 0:
                carry = buffer
                continue
            yield "head", buffer[:at]
            buffer, in_head = buffer[at:], False
        cut = buffer.rfind(b"</row>")
        if cut < 0:
            carry = buffer
            continue
        cut += len(b"</row>")
        yield "rows", buffer[:cut]
        carry = buffer[cut:]
    end = carry.rfind(b"</sheetData>")
    if in_head or end < 0:
        raise NotExact("no <sheetData> ... </sheetData>")
    yield "rows", carry[:end]
    yield "tail", carry[end + len(b"</sheetData>") :]


def sheet_rows(chunks: list[bytes]) -> np.ndarray:
    """The numbers of the sheet's <row>s, after checking calamine's grid of the sheet is of a
    sane size (NotExact otherwise, or when a row or a cell has no reference, or rows are out
    of order: calamine and openpyxl would place cells differently)."""
    found: list[tuple[bytes, bytes]] = [(b"0", b"")]  # a row 0 before the first
    wide: set[bytes] = set()
    for kind, part in _row_parts(chunks):
        if kind != "rows":
            continue
        found += _ROW.findall(part)
        for letters in _ODD_REFERENCE.findall(part):
            if not letters:
                raise NotExact("a cell without its reference")
            wide.add(letters)
    refs, firsts = np.array(found).T
    if (refs == b"").any() or (np.char.str_len(refs) > 7).any():  # Excel: 1,048,576 rows
        raise NotExact("a row without its number, or beyond the last")
    numbers = refs.astype(np.int64)
    if (np.diff(numbers) <= 0).any():
        raise NotExact("rows not in increasing order")
    named = firsts != b""  # a cell naming another row: calamine puts it there, openpyxl not
    if (np.char.str_len(firsts) > 7).any() or (
        firsts[named].astype(np.int64) != numbers[named]
    ).any():
        raise NotExact("a cell whose reference names another row than its <row>")
    width = max((_column_number(c) for c in wide), default=52)
    height = int(numbers[-1])
    if width * height > min(max(_GRID_PER_ROW * len(numbers), 1_000_000), _MAX_GRID):
        raise NotExact(f"a grid of {height} rows x {width} columns")
    return numbers[1:]


def _column_number(letters: bytes) -> int:
    n = 0
    for c in letters:
        n = n * 26 + c - 64
    return n


@dataclass
class SheetScan:
    """What the pass over a sheet's XML beside calamine learned."""

    head: bytes = b""  # up to <sheetData
    tail: bytes = b""  # after </sheetData>
    odd_values: set[bytes] = field(default_factory=set)
    odd: list[str] = field(default_factory=list)  # what calamine reads differently
    error: str | None = None  # why openpyxl's parser would fail

    def check(self, wb: Any) -> None:
        if self.error:
            raise NotExact(self.error)
        if self.odd:
            raise NotExact(f"the sheet has {sorted(set(self.odd))}")
        _check_values(self.odd_values)
        _check_outside_rows(wb, self.head, self.tail)


def scan_sheet(chunks: list[bytes]) -> SheetScan:
    """One pass over the sheet's XML: expat checks it is well-formed as openpyxl's parser
    (ElementTree's iterparse) needs, and reports what calamine skips or reads differently
    (comments, CDATA, processing instructions, a document type, an encoding other than
    UTF-8, a byte order mark); the cells calamine would read differently are looked for."""
    scan = SheetScan()
    parser = ParserCreate(None, "}")  # namespaces on, as iterparse

    def declaration(_version: str, encoding: str | None, _standalone: int) -> None:
        if encoding is not None and encoding.lower() not in ("utf-8", "utf8"):
            scan.odd.append(f"encoding {encoding}")

    def found(what: str) -> Callable[..., None]:
        return lambda *_: scan.odd.append(what)

    parser.XmlDeclHandler = declaration
    parser.CommentHandler = found("comments")
    parser.StartCdataSectionHandler = found("CDATA")
    parser.ProcessingInstructionHandler = found("processing instructions")
    parser.StartDoctypeDeclHandler = found("a document type")
    try:
        for chunk in chunks:
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except ExpatError as exc:
        scan.error = f"XML openpyxl would not parse ({exc})"
        return scan
    for kind, part in _row_parts(chunks):
        if kind == "head":
            scan.head = part
            if part.startswith(b"\xef\xbb\xbf"):
                scan.odd.append("a byte order mark")
        elif kind == "tail":
            scan.tail = part
        else:
            for value, attributes in _ODD_VALUE.findall(part):
                if attributes:
                    scan.odd.append("a <v> with attributes")
                else:
                    scan.odd_values.add(value)
            scan.odd += [what for pattern, what in _ODD_CELLS if pattern.search(part)]
    return scan


def _check_values(texts: set[bytes]) -> None:
    """Every <v> other than a plain integer must be a decimal both libraries read alike: a
    decimal point and digits (no sign, exponent or spaces: openpyxl reads 1.0 as a float
    calamine cannot tell from 1), not a whole number, and a date both would give to the same
    millisecond if its cell has a date style (calamine rounds serial * 86,400,000,
    openpyxl the fraction of the day; days before 1900-03-01 and after 9999-12-30 are
    converted differently)."""
    values = [t for t in texts if t]  # an empty <v> is an empty cell for both
    if not values:
        return
    if not _DECIMALS.fullmatch(b"\n".join(values) + b"\n"):
        raise NotExact("a value that is not a plain decimal")
    serial = np.array(values).astype(np.float64)
    day = np.floor(serial)
    if (serial == day).any():
        raise NotExact("a whole number written with decimals")
    if ((serial < 61) | (serial >= _NO_DATE - 1)).any():
        raise NotExact("a number outside the dates both libraries convert alike")
    openpyxl_ms = day.astype(np.int64) * 86_400_000 + np.round(
        ((serial - day) * 86400.0) * 1000.0
    ).astype(np.int64)
    scaled = serial * 86_400_000.0
    calamine_ms = np.where(scaled - np.floor(scaled) >= 0.5, np.ceil(scaled), np.floor(scaled))
    if (openpyxl_ms != calamine_ms.astype(np.int64)).any():
        raise NotExact("a date-time the two libraries round to different milliseconds")


def _check_outside_rows(wb: Any, head: bytes, tail: bytes) -> None:
    """What openpyxl's parser does with the sheet outside its rows (page margins, views,
    merged cells, ...) must not fail: the XML with the rows left out is parsed by it."""
    parser = _CellTolerantParser(
        io.BytesIO(head + b"<sheetData/>" + tail),
        [],
        data_only=True,
        epoch=wb.epoch,
        date_formats=wb._date_formats,
        timedelta_formats=wb._timedelta_formats,
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in parser.parse():
                pass
    except Exception as exc:  # whatever it is, openpyxl will say it when it reads the sheet
        raise NotExact(f"openpyxl fails on the sheet ({type(exc).__name__})") from exc


def _shared_strings(archive: zipfile.ZipFile) -> list[str]:
    return [n for n in archive.namelist() if n.lower().endswith("sharedstrings.xml")]


def check_shared_strings(archive: zipfile.ZipFile) -> None:
    """The shared strings (parsed by openpyxl already) hold nothing calamine reads
    differently: rich text, CDATA, comments, processing instructions, a document type,
    Excel's escapes (openpyxl also drops 'x005F_'), an encoding other than UTF-8."""
    for name in _shared_strings(archive):
        with archive.open(name) as src:
            xml = src.read()
        found = [
            m.decode()
            for m in (b"<![CDATA[", b"<!--", b"<!DOCTYPE", b"_x00", b"x005F_", b"\xef\xbb\xbf")
            if m in xml
        ]
        if _RICH_TEXT.search(xml):
            found.append("rich text")
        declared = xml.startswith(b"<?xml")
        if xml.count(b"<?") != declared:
            found.append("processing instructions")
        if declared:
            m = re.search(rb'encoding\s*=\s*["\']([^"\']*)', xml[: xml.find(b"?>")])
            if m and m.group(1).lower() not in (b"utf-8", b"utf8"):
                found.append("not UTF-8")
        if found:
            raise NotExact(f"{name} has {found}")


# white space, also as a reference
_SPACE = rb"(?:[ \t\r\n]|&#(?:0*(?:9|10|13|32)|[xX]0*(?:9|[aAdD]|20));)"
_VERBATIM = (
    re.compile(rb"<t>" + _SPACE),  # calamine trims the ends of a <t> without xml:space
    re.compile(rb"<t>[^<]*" + _SPACE + rb"</t>"),
    re.compile(rb'<t (?!xml:space="preserve">)'),
    re.compile(rb'<t(?: xml:space="preserve")?(?:/>|></t>)'),  # an empty text: '' for both
    re.compile(rb"<(?:is|si)(?:/>|></(?:is|si)>)"),
)


def verbatim_text(archive: zipfile.ZipFile, sheet: str) -> None:
    """NotExact unless every text of the sheet is read by calamine as openpyxl reads it,
    ends included, and none is empty (then calamine's '' is openpyxl's empty cell)."""
    for name in [sheet, *_shared_strings(archive)]:
        with archive.open(name) as src:
            xml = src.read()
        if any(p.search(xml) for p in _VERBATIM):
            raise NotExact(f"{name}: text calamine reads differently")
