"""Cell normalisation shared by the readers."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from koryu_pipeline.ingest.readers.normalise import (
    EncodingError,
    decode_csv_bytes,
    excel_serial_to_datetime,
    local_to_utc,
    parse_google_timestamp,
    split_choices,
    stable_id,
)

TZ = "Asia/Tokyo"


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC").as_unit("us")


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ("タイムスタンプ,府省\r\n".encode("utf-8-sig"), "utf-8-sig"),
        ("タイムスタンプ,府省\r\n".encode(), "utf-8"),
        ("タイムスタンプ,府省\r\n".encode("cp932"), "cp932"),
    ],
)
def test_decode_csv_bytes_by_content(data, encoding):
    assert decode_csv_bytes(data) == ("タイムスタンプ,府省\r\n", encoding)


def test_decode_csv_bytes_refuses_what_is_neither_utf8_nor_cp932():
    with pytest.raises(EncodingError):
        decode_csv_bytes(b"\x81\x20\xff\xfe")
    with pytest.raises(EncodingError, match="BOM"):  # a BOM promises UTF-8
        decode_csv_bytes(b"\xef\xbb\xbf" + "府省".encode() + b"\xff")


@pytest.mark.parametrize(
    ("cell", "seps", "expected"),
    [
        ("役職段階;年齢;", (";",), ("役職段階", "年齢")),
        ("役職段階;年齢", (";",), ("役職段階", "年齢")),
        (" 役職段階 ; 年齢 ;", (";",), ("役職段階", "年齢")),
        ("役職段階;", (";",), ("役職段階",)),
        ("a, b", (";", ", "), ("a", "b")),
        ("a;b", (";", ", "), ("a", "b")),
        ("分からない、効果未検証等", (";", ", "), ("分からない、効果未検証等",)),
        ("３０代;ｶﾞｲﾄﾞ;", (";",), ("30代", "ガイド")),
        ("", (";",), ()),
        ("  ;  ;", (";",), ()),
    ],
)
def test_split_choices(cell, seps, expected):
    assert split_choices(cell, seps) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023/11/20 15:04:05", "2023-11-20 06:04:05"),
        ("2023/11/20 3:04:05 午後 GMT+9", "2023-11-20 06:04:05"),
        ("2023/11/20 3:04:05 午前 GMT+9", "2023-11-19 18:04:05"),
        ("2023/11/20 12:04:05 午前 GMT+9", "2023-11-19 15:04:05"),  # 午前 12 is midnight
        ("2023/11/20 12:04:05 午後 GMT+9", "2023-11-20 03:04:05"),  # 午後 12 is noon
        ("2023/11/20 15:04:05 GMT+9", "2023-11-20 06:04:05"),
        ("2023/11/20 15:04:05 GMT+0", "2023-11-20 15:04:05"),
        ("2023/11/20 15:04", "2023-11-20 06:04:00"),
        ("2023-11-20 15:04:05", "2023-11-20 06:04:05"),
        ("２０２３/１１/２０ １５:０４:０５", "2023-11-20 06:04:05"),  # full-width digits
    ],
)
def test_parse_google_timestamp(text, expected):
    ts = parse_google_timestamp(text, TZ)
    assert ts == utc(expected)
    assert str(ts.tz) == "UTC" and ts.unit == "us"


@pytest.mark.parametrize("text", ["", "昨日", "2023/13/40 10:00:00", "2023/11/20"])
def test_unreadable_google_timestamp_is_none(text):
    assert parse_google_timestamp(text, TZ) is None


def test_local_to_utc_and_excel_serials():
    assert local_to_utc(datetime(2023, 12, 21, 23, 59), TZ) == utc("2023-12-21 14:59")
    assert local_to_utc(datetime(2023, 12, 22, 0, 0, 30), TZ) == utc("2023-12-21 15:00:30")
    assert excel_serial_to_datetime(45250.5) == datetime(2023, 11, 20, 12, 0)
    assert excel_serial_to_datetime(1) == datetime(1899, 12, 31)


def test_stable_id():
    a = stable_id("m", "ministry", "2023", "id=1|at=2023-11-20T01:00:00+00:00")
    assert a == stable_id("m", "ministry", "2023", "id=1|at=2023-11-20T01:00:00+00:00")
    assert a != stable_id("m", "ministry", "2023", "id=2|at=2023-11-20T01:00:00+00:00")
    assert a.startswith("m") and len(a) == 17


def test_split_choices_counts_a_repeated_label_once() -> None:
    from koryu_pipeline.ingest.readers.normalise import split_choices

    assert split_choices("年齢;役職段階;年齢;", (";",)) == ("年齢", "役職段階")
