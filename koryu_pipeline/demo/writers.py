"""One writer per export format, shared by the demo exports and the tests' export files.

Headers and separators come from the readers' own constants (`readers.msforms_xlsx`,
`readers.googleforms_csv`), so the files written and the readers agree by construction. Output is
deterministic: the .xlsx document properties and zip entry times are fixed, so equal rows give
equal bytes.

A row's answers map codebook field columns (entry id, or likert item id) to a cell: a list or
tuple of labels is joined with the format's separator, None leaves the cell blank, and anything
else, text above all, is written as it is (so a caller can spell a cell as people do, or write
one no form would).
"""

from __future__ import annotations

import csv
import io
import random
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.writer.excel import ExcelWriter

from koryu_pipeline.codebook import Field, Form
from koryu_pipeline.ingest.readers.googleforms_csv import SEPARATORS as GOOGLE_SEPARATORS
from koryu_pipeline.ingest.readers.googleforms_csv import TIMESTAMP_HEADER, grid_header
from koryu_pipeline.ingest.readers.msforms_xlsx import (
    ID_HEADER,
    PERSONAL_HEADERS,
    STARTED_HEADER,
    SUBMITTED_HEADER,
)
from koryu_pipeline.ingest.readers.msforms_xlsx import SEPARATORS as MS_SEPARATORS

MS_META_HEADERS: tuple[str, ...] = (ID_HEADER, STARTED_HEADER, SUBMITTED_HEADER, *PERSONAL_HEADERS)
MS_SEP = MS_SEPARATORS[0]  # Forms ends every label of a multi cell with it
DOWNLOAD_SEP, SHEET_SEP = GOOGLE_SEPARATORS  # the direct download joins with ";", the Sheet ", "
XLSX_TIME_FORMAT = "yyyy/m/d h:mm:ss"  # how Forms formats its date-time cells
# Any fixed time would do (zipfile stamps the current one); this one is in the demo's bytes.
ZIP_TIME = (2023, 12, 22, 0, 0, 0)


@dataclass(frozen=True)
class MsFormsRow:
    """One response as Microsoft Forms exports it. The leading cells take any value (the demo
    writes an int ID and datetimes; tests also write Excel serials, text or nothing)."""

    id: object
    started: object
    submitted: object
    email: object
    name: object
    answers: Mapping[str, object]
    trailing_sep: bool = True  # False: multi cells without the ';' after the last label


@dataclass(frozen=True)
class GoogleFormsRow:
    """One response as Google Forms exports it."""

    submitted: object  # a datetime is written in the file's stamp format, text as is
    answers: Mapping[str, object]


@dataclass(frozen=True)
class Layout:
    """How a file departs from the form's own column layout, as re-ordered or hand-edited
    exports do; tests use it to show the readers find columns by header. The default is the
    layout the services write."""

    entry_order: Sequence[str] | None = None  # move whole entries (a grid's items stay together)
    shuffle_seed: int | None = None  # shuffle all columns; same-header columns keep their order
    drop_headers: tuple[str, ...] = ()  # leave these columns out (matched after header_suffix)
    header_suffix: str = ""  # appended to every field's header
    header_map: Mapping[str, str] = field(default_factory=dict)  # header -> as written
    extra_columns: Mapping[str, object] = field(default_factory=dict)  # header -> every row's cell


# ---------------------------------------------------------------------------- Microsoft Forms


def msforms_xlsx_bytes(
    form: Form,
    rows: Iterable[MsFormsRow | None],
    *,
    exported: datetime,
    layout: Layout | None = None,
) -> bytes:
    """A Microsoft Forms .xlsx export; `None` in `rows` writes a row with nothing in it.
    `exported` is the document's creation time (openpyxl would stamp the wall clock)."""
    body = [
        None
        if r is None
        else [
            r.id,
            r.started,
            r.submitted,
            r.email,
            r.name,
            *(_ms_cell(r.answers.get(f.column), r.trailing_sep) for f in form.fields),
        ]
        for r in rows
    ]
    headers, table = _arrange(MS_META_HEADERS, form, lambda f: f.header, body, layout or Layout())
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Sheet1"
    ws.append(headers)
    for n, cells in enumerate(table, start=2):
        ws.append(cells or [])
        for col, value in enumerate(cells or [], start=1):
            if isinstance(value, datetime):
                ws.cell(n, col).number_format = XLSX_TIME_FORMAT
    wb.properties.creator = "Microsoft Forms"
    wb.properties.created = exported
    wb.properties.modified = exported
    buf = io.BytesIO()
    ExcelWriter(wb, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED)).save()
    return _normalise_zip(buf.getvalue())


def _ms_cell(value: object, trailing: bool) -> object:
    if isinstance(value, list | tuple):
        return "".join(f"{v}{MS_SEP}" for v in value) if trailing else MS_SEP.join(value)
    return value


def _normalise_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed entry times and attributes, so equal content gives equal bytes
    (zipfile stamps entries with the current time or a temp file's mtime)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            zi = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            zi.create_system = 3  # zipfile would record 0 on Windows
            dst.writestr(zi, src.read(info.filename))
    return out.getvalue()


# ---------------------------------------------------------------------------- Google Forms


def sheet_timestamp(t: datetime) -> str:
    """As the linked Sheet's CSV writes it: "2023/11/20 15:04:05" (hour not zero-padded)."""
    return f"{t:%Y/%m/%d} {t.hour}:{t:%M:%S}"


def download_timestamp(t: datetime) -> str:
    """As the direct download writes it: "2023/11/20 3:04:05 午後 GMT+9"."""
    half = "午前" if t.hour < 12 else "午後"
    return f"{t:%Y/%m/%d} {(t.hour + 11) % 12 + 1}:{t:%M:%S} {half} GMT+9"


def googleforms_csv_text(
    form: Form,
    rows: Iterable[GoogleFormsRow],
    *,
    sep: str = SHEET_SEP,
    stamp: Callable[[datetime], str] = sheet_timestamp,
    layout: Layout | None = None,
) -> str:
    """A Google Forms CSV export as text (CRLF line ends, as both downloads have)."""
    body: list[list[object] | None] = [
        [
            stamp(r.submitted) if isinstance(r.submitted, datetime) else r.submitted,
            *(_google_cell(r.answers.get(f.column), sep) for f in form.fields),
        ]
        for r in rows
    ]
    headers, table = _arrange((TIMESTAMP_HEADER,), form, grid_header, body, layout or Layout())
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(headers)
    w.writerows(cells or [] for cells in table)
    return buf.getvalue()


def googleforms_csv_bytes(
    form: Form,
    rows: Iterable[GoogleFormsRow],
    *,
    encoding: str = "utf-8-sig",
    sep: str = SHEET_SEP,
    stamp: Callable[[datetime], str] = sheet_timestamp,
    layout: Layout | None = None,
) -> bytes:
    """A Google Forms CSV export: "utf-8-sig" as the Sheet gives it, "cp932" once re-saved in
    Excel, "utf-8" as the direct download."""
    return googleforms_csv_text(form, rows, sep=sep, stamp=stamp, layout=layout).encode(encoding)


def _google_cell(value: object, sep: str) -> object:
    if value is None:
        return ""
    return sep.join(value) if isinstance(value, list | tuple) else value


# ---------------------------------------------------------------------------- both


def write_export(path: Path, data: bytes) -> Path:
    """Write via a temporary file and rename, creating folders; leave a file that already holds
    `data` untouched (a rewrite would change its mtime for nothing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_bytes() == data:
        return path
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path


def _arrange(
    own_headers: Sequence[str],
    form: Form,
    field_header: Callable[[Field], str],
    body: Sequence[list[object] | None],
    layout: Layout,
) -> tuple[list[str], list[list[object] | None]]:
    """The header row and the rows (cells in `own_headers` + form field order) as `layout`
    writes them."""
    headers = [*own_headers, *(field_header(f) + layout.header_suffix for f in form.fields)]
    entry_of: list[str | None] = [None] * len(own_headers) + [f.entry.id for f in form.fields]
    extras = list(layout.extra_columns.values())
    headers += list(layout.extra_columns)
    entry_of += [None] * len(extras)
    keep = [
        i
        for i in _column_order(headers, entry_of, layout.shuffle_seed, layout.entry_order)
        if headers[i] not in layout.drop_headers
    ]
    out_headers = [layout.header_map.get(headers[i], headers[i]) for i in keep]
    table = [None if r is None else _pick([*r, *extras], keep) for r in body]
    return out_headers, table


def _pick(cells: list[object], keep: list[int]) -> list[object]:
    return [cells[i] for i in keep]


def _column_order(
    headers: list[str],
    entry_of: list[str | None],
    shuffle_seed: int | None,
    entry_order: Sequence[str] | None,
) -> list[int]:
    """Indices of the columns in the order they are written.

    `entry_order` moves whole entries, as when the form's questions are reordered; the export's
    own columns come first and entries not named keep their place after the named ones.
    `shuffle_seed` shuffles every column at random, except that columns with the same header
    text keep their relative order (the only thing the export gives to tell them apart)."""
    order = list(range(len(headers)))
    if entry_order is not None:
        rank = {e: n for n, e in enumerate(entry_order)}
        order.sort(
            key=lambda i: (-1, i) if entry_of[i] is None else (rank.get(entry_of[i], len(rank)), i)
        )
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(order)
        # put same-header columns back in their original relative order
        slots: dict[str, list[int]] = {}
        for pos, i in enumerate(order):
            slots.setdefault(headers[i], []).append(pos)
        for positions in slots.values():
            idxs = sorted(order[p] for p in positions)
            for p, i in zip(positions, idxs, strict=True):
                order[p] = i
    return order
