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


# ------------------------------------------------------------------ in bulk, as the scalars


def bulk_equals_scalar(texts: list[str], tz: str) -> int:
    """parse_google_timestamps gives parse_google_timestamp's value for every text; returns
    how many are times."""
    import pyarrow as pa

    from koryu_pipeline.ingest.readers.normalise import parse_google_timestamps

    got = pd.Series(parse_google_timestamps(pa.array(texts), tz).to_pandas())
    want = [parse_google_timestamp(t, tz) for t in texts]
    for text, g, w in zip(texts, got, want, strict=True):
        assert (pd.isna(g) and w is None) or g == w, (text, g, w)
    return sum(w is not None for w in want)


@pytest.mark.parametrize("tz", [TZ, "America/New_York", "Europe/Amsterdam"])
def test_timestamps_in_the_exports_layouts_in_bulk(tz):
    """Every date and time field at and past its bounds, in both layouts the exports write
    (read off their bytes) and in others (read by the regular expression)."""
    texts = []
    for y in ("1899", "1900", "1948", "1951", "2023", "2024", "2099", "2100", "0000"):
        for mo in ("00", "01", "02", "03", "11", "12", "13"):
            for d in ("00", "01", "28", "29", "31"):
                for h in ("0", "00", "1", "9", "11", "12", "13", "23", "24"):
                    for ms in ("00:00", "59:59", "60:00", "00:60"):
                        stamp = f"{y}/{mo}/{d} {h}:{ms}"
                        texts += [stamp, f"{stamp} 午前 GMT+9", f"{stamp} 午後 GMT+9"]
                        texts.append(f"{y}-{mo}-{d}  {h}:{ms[:2]} PM GMT-5:30")
    assert bulk_equals_scalar(texts, tz) > 1000


def test_timestamps_through_daylight_saving_in_bulk():
    """Asia/Tokyo's summer time (1948-1951) and New York's: times on the days the offset
    changes are converted one by one, as local_to_utc does."""
    import random
    from datetime import timedelta

    rng = random.Random(9)
    texts = []
    for start in (datetime(1948, 4, 1), datetime(1951, 4, 1), datetime(2023, 3, 1)):
        for _ in range(4000):
            t = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 270))
            texts.append(f"{t:%Y/%m/%d} {t.hour}:{t:%M:%S}")
    for tz in (TZ, "America/New_York"):
        assert bulk_equals_scalar(texts, tz) == len(texts)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "昨日の午後",
        "２０２３/１１/２０ １５:０４:０５",
        " 2023/11/20\u300015:04:05 ",
        "2023/11/20 15:04:05\n",
        "2023/11/20 3:04:05 PM UTC+0930",
        "2023/11/20 3:04:05pm",
        "2023/11/20 3:04:05 午後 GMT+09:00",
        "2023/11/20 3:04:05 午後 GMT-0",
        "2023/11/20 3:04 午後",
        "2023/2/29 3:04",
        "2024/2/29 3:04",
        "2023/11/20 15:04:05 GMT+99",
        "9999/12/31 23:59:59 GMT-99",
        "2023/11/20 15:04:05 03-1234-5678",
    ],
)
def test_odd_timestamps_in_bulk(text):
    bulk_equals_scalar([text, "2023/11/20 15:04:05", text], TZ)


def test_utf8_csv_is_decode_csv_bytes_without_the_text():
    """Where utf8_csv says "UTF-8", decode_csv_bytes decodes the same bytes to the same
    text with the same label; else decode_csv_bytes reads the file otherwise (or not)."""
    import random

    from koryu_pipeline.ingest.readers.normalise import utf8_csv

    rng = random.Random(3)
    samples = [
        "タイムスタンプ,府省\r\n".encode(),
        "タイムスタンプ,府省\r\n".encode("utf-8-sig"),
        "タイムスタンプ,府省\r\n".encode("cp932"),
        "タイムスタンプ,府省\r\n".encode("utf-16"),
        "タイムスタンプ\t府省\r\n".encode("utf-16-le"),
        b"",
        b"\xef\xbb\xbf",
        b"PK\x03\x04rest",
        b"a\x00b\x00",
        b"abc" + b"\x00" * 3,
        b"x" * 200 + b"\x00",
        "é".encode() + b"\x00" * 2,
        b"\xed\xa0\x80",  # a surrogate
        b"\xc0\x80",  # overlong
        b"\xf4\x90\x80\x80",  # past U+10FFFF
    ]
    alphabet = 'あア府,\r\n"a \t\x00\u3000\U0001f600'
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
        data = bytearray(text.encode(rng.choice(["utf-8", "utf-8-sig"])))
        if data and rng.random() < 0.3:
            data[rng.randrange(len(data))] = rng.randrange(256)
        samples.append(bytes(data))
    for data in samples:
        found = utf8_csv(data)
        try:
            decoded = decode_csv_bytes(data)
        except EncodingError:
            assert found is None
            continue
        if found is None:
            assert decoded[1] not in ("utf-8", "utf-8-sig")
        else:
            view, encoding = found
            assert (bytes(view).decode("utf-8"), encoding) == decoded
