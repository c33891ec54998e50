"""The shared export writers: deterministic bytes, cells as each service writes them, and the
layouts tests bend exports into. Round trips through the readers are in readers/."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime

import openpyxl
import pytest

from koryu_pipeline.demo.writers import (
    DOWNLOAD_SEP,
    MS_META_HEADERS,
    GoogleFormsRow,
    Layout,
    MsFormsRow,
    download_timestamp,
    googleforms_csv_bytes,
    googleforms_csv_text,
    msforms_xlsx_bytes,
    sheet_timestamp,
)
from koryu_pipeline.ingest.readers.googleforms_csv import grid_header
from koryu_pipeline_tests.demo.reading import MS_FIXED
from koryu_pipeline_tests.exports import hires_form, ministry_form

EXPORTED = datetime(2023, 11, 30, 9, 30)
TRAITS = ("異なる環境や組織文化に適応できる", "専門的な知識・技術を有している")


def ms_row(**answers: object) -> MsFormsRow:
    done = datetime(2023, 11, 20, 10, 0, 5)
    return MsFormsRow(1, done.replace(minute=0), done, "a@example.go.jp", "山田 太郎", answers)


def sheet(data: bytes) -> list[tuple]:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    return list(wb.worksheets[0].iter_rows(values_only=True))


def test_msforms_bytes_are_deterministic() -> None:
    form = ministry_form()
    data = msforms_xlsx_bytes(form, [ms_row()], exported=EXPORTED)
    assert msforms_xlsx_bytes(form, [ms_row()], exported=EXPORTED) == data
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert {i.date_time for i in z.infolist()} == {(2023, 12, 22, 0, 0, 0)}
        core = z.read("docProps/core.xml")
    assert b"2023-11-30T09:30:00Z" in core and b"Microsoft Forms" in core


def test_msforms_cells() -> None:
    form = ministry_form()
    col = {f.column: len(MS_META_HEADERS) + i for i, f in enumerate(form.fields)}
    rows = [
        ms_row(q17_traits=list(TRAITS), q08_age="３０代"),
        None,
        MsFormsRow(2, None, 45250.5, None, None, {"q17_traits": TRAITS}, trailing_sep=False),
    ]
    header, first, blank, last = sheet(msforms_xlsx_bytes(form, rows, exported=EXPORTED))
    assert list(header) == MS_FIXED + [f.header for f in form.fields]
    assert first[col["q17_traits"]] == "".join(f"{t};" for t in TRAITS)
    assert first[col["q08_age"]] == "３０代"  # text is written as it is
    assert first[col["q07"]] is None
    assert all(c is None for c in blank)
    assert last[col["q17_traits"]] == ";".join(TRAITS)
    assert last[2] == 45250.5  # an Excel serial stays a number: only datetimes get a format
    ws = openpyxl.load_workbook(io.BytesIO(msforms_xlsx_bytes(form, rows, exported=EXPORTED)))
    assert ws.worksheets[0]["C2"].number_format == "yyyy/m/d h:mm:ss"


def test_layout_moves_renames_drops_and_adds_columns() -> None:
    form = ministry_form()
    layout = Layout(
        entry_order=["q09", "q01"],
        drop_headers=("メール",),
        header_suffix=" ",  # field headers only
        header_map={"ID": "id"},
        extra_columns={"備考": "-"},
    )
    header, row = sheet(msforms_xlsx_bytes(form, [ms_row()], exported=EXPORTED, layout=layout))
    # the export's own and extra columns first, then the named entries whole, then the rest
    assert list(header[:5]) == ["id", "開始時刻", "完了時刻", "名前", "備考"] and row[4] == "-"
    named = [f"{f.header} " for e in ("q09", "q01") for f in form.fields if f.entry.id == e]
    rest = [f"{f.header} " for f in form.fields if f.entry.id not in ("q09", "q01")]
    assert list(header[5:]) == named + rest


def test_shuffle_keeps_same_header_columns_in_order() -> None:
    """q01_1 and q09_3 share their text: their order is all an export gives to tell them apart."""
    form = ministry_form()
    fields = {f.column: f for f in form.fields}
    text = fields["q01_1"].header
    assert fields["q09_3"].header == text
    row = ms_row(q01_1="よく当てはまる", q09_3="当てはまらない")
    plain = sheet(msforms_xlsx_bytes(form, [row], exported=EXPORTED))[0]
    for seed in range(5):
        layout = Layout(shuffle_seed=seed)
        header, cells = sheet(msforms_xlsx_bytes(form, [row], exported=EXPORTED, layout=layout))
        assert header != plain and sorted(header) == sorted(plain)
        assert [c for h, c in zip(header, cells, strict=True) if h == text] == [
            "よく当てはまる",
            "当てはまらない",
        ]


@pytest.mark.parametrize(
    ("t", "sheet_text", "download_text"),
    [
        (datetime(2023, 11, 20, 15, 4, 5), "2023/11/20 15:04:05", "2023/11/20 3:04:05 午後 GMT+9"),
        (datetime(2023, 11, 20, 0, 30), "2023/11/20 0:30:00", "2023/11/20 12:30:00 午前 GMT+9"),
        (datetime(2023, 11, 20, 12, 30), "2023/11/20 12:30:00", "2023/11/20 12:30:00 午後 GMT+9"),
        (datetime(2023, 11, 20, 9, 5), "2023/11/20 9:05:00", "2023/11/20 9:05:00 午前 GMT+9"),
    ],
)
def test_google_timestamps(t: datetime, sheet_text: str, download_text: str) -> None:
    assert sheet_timestamp(t) == sheet_text
    assert download_timestamp(t) == download_text


def test_googleforms_csv() -> None:
    form = hires_form()
    wishes = ["上司等との面談機会の充実", "人事担当課における相談窓口の拡充"]
    rows = [
        GoogleFormsRow(datetime(2023, 11, 20, 15, 4, 5), {"support_wishes": wishes}),
        GoogleFormsRow("昨日", {"age_band": "30代"}),
    ]
    text = googleforms_csv_text(form, rows, sep=DOWNLOAD_SEP, stamp=download_timestamp)
    assert text.endswith("\r\n") and text.count("\r\n") == 3
    header, first, second = csv.reader(io.StringIO(text, newline=""))
    assert header == ["タイムスタンプ"] + [grid_header(f) for f in form.fields]
    wish = header.index(form.entry("support_wishes").header)
    assert first[0] == "2023/11/20 3:04:05 午後 GMT+9" and first[wish] == ";".join(wishes)
    assert second[0] == "昨日" and second[wish] == ""
    assert googleforms_csv_bytes(form, rows).startswith(b"\xef\xbb\xbf")
    cp932 = googleforms_csv_bytes(form, rows, encoding="cp932")
    assert not cp932.startswith(b"\xef\xbb\xbf")
    assert cp932.decode("cp932") == googleforms_csv_text(form, rows)
