"""Cell normalisation shared by the readers: text, choice lists, timestamps, encodings."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from koryu_pipeline.codebook import normalise_text

__all__ = [
    "decode_csv_bytes",
    "excel_serial_to_datetime",
    "local_to_utc",
    "normalise_text",
    "parse_google_timestamp",
    "split_choices",
    "stable_id",
]

_EXCEL_EPOCH = datetime(1899, 12, 30)
# What a submission time can be (local time). Outside it a cell is a typo (9999/12/31,
# 0001/01/01) and the response is rejected as `invalid_timestamp`; inside it every time
# converts to UTC without overflow.
EARLIEST, LATEST = datetime(1900, 1, 1), datetime(2100, 1, 1)
# "2023/11/20 15:04:05", "2023/11/20 3:04:05 午後 GMT+9" (Google Sheets' Japanese locale)
_GOOGLE_TS = re.compile(
    r"^(?P<y>\d{4})[/-](?P<mo>\d{1,2})[/-](?P<d>\d{1,2})\s+"
    r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?"
    r"(?:\s*(?P<ampm>午前|午後|AM|PM|am|pm))?"
    r"(?:\s*(?:GMT|UTC)(?P<off>[+-]\d{1,2})(?::?(?P<offm>\d{2}))?)?$"
)


class EncodingError(ValueError):
    pass


def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le' / 'utf-16-be' when the NUL bytes of the start all sit on one side of
    their pair, as ASCII does in UTF-16 (UTF-8 and CP932 text has no NUL at all)."""
    head = data[:2000]
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if len(data) % 2 or not (even or odd) or (even and odd):
        return None
    return "utf-16-le" if odd else "utf-16-be"


# At most one character in this many may be undecodable (a bad copy, a disk error): those
# bytes cost the cells they are in (U+FFFD is in no option label), not the whole file.
DAMAGE_TOLERATED = 1000


def _decode(data: bytes, encodings: tuple[str, ...], what: str) -> tuple[str, str]:
    """Strictly in the first encoding that takes the bytes; else the reading losing fewest
    characters, if few enough, labelled as damaged; else EncodingError."""
    for encoding in encodings:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    readings = [(data.decode(e, "replace"), e) for e in encodings]
    text, encoding = min(readings, key=lambda r: r[0].count("\ufffd"))
    lost = text.count("\ufffd")
    if lost * DAMAGE_TOLERATED > len(text):
        raise EncodingError(what)
    return text, f"{encoding} ({lost} undecodable characters replaced)"


def decode_csv_bytes(data: bytes) -> tuple[str, str]:
    """Decode a Google Forms CSV by its content: a UTF-8 BOM, a UTF-16 BOM (Excel's "Unicode
    text"), else strict UTF-8, else UTF-16 without a BOM, else strict CP932 (what Excel writes
    on a Japanese Windows). Returns (text, encoding)."""
    if data.startswith(b"PK\x03\x04"):
        raise EncodingError("a zip archive (an .xlsx workbook?), not text: save it as .xlsx")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # the BOM gives the byte order
        text, encoding = _decode(data, ("utf-16",), "UTF-16 with a BOM, but damaged")
    elif data.startswith(b"\xef\xbb\xbf"):  # a BOM says UTF-8: damaged, not another encoding
        text, encoding = _decode(data[3:], ("utf-8",), "UTF-8 with a BOM, but damaged")
        encoding = encoding.replace("utf-8", "utf-8-sig", 1)
    else:  # UTF-16 before CP932, which would take its bytes for (wrong) Japanese text
        candidates = ("utf-8", _utf16_without_bom(data), "cp932")
        text, encoding = _decode(
            data, tuple(e for e in candidates if e), "neither UTF-8, UTF-16 nor CP932"
        )
    if text.count("\x00") * 100 > len(text):
        raise EncodingError("binary data, not text")
    return text, encoding


def split_choices(cell: str, separators: tuple[str, ...]) -> tuple[str, ...]:
    """A checkbox cell -> its normalised labels, in the order given, without empties or
    repeats (a box is ticked once). The first separator present in the cell is used
    ("a;b;" and "a, b" both work)."""
    text = cell.strip()
    if not text:
        return ()
    sep = next((s for s in separators if s in text), None)
    parts = text.split(sep) if sep else [text]
    return tuple(dict.fromkeys(p for p in (normalise_text(x) for x in parts) if p))


def local_to_utc(value: datetime, tz: str) -> pd.Timestamp | None:
    """A local date-time as UTC (microseconds); None outside EARLIEST..LATEST."""
    naive = value.replace(tzinfo=None)
    if not EARLIEST <= naive < LATEST:
        return None
    return pd.Timestamp(naive.replace(tzinfo=ZoneInfo(tz))).tz_convert("UTC").as_unit("us")


def excel_serial_to_datetime(serial: float) -> datetime | None:
    """Excel's 1900 date system, with its phantom 1900-02-29 absorbed by the 1899-12-30 epoch;
    None for a number no date has (1e308, NaN, infinity)."""
    try:
        return _EXCEL_EPOCH + timedelta(days=float(serial))
    except (OverflowError, ValueError):
        return None


def parse_google_timestamp(text: str, tz: str) -> pd.Timestamp | None:
    m = _GOOGLE_TS.match(normalise_text(text))
    if not m:
        return None
    hour = int(m["h"])
    ampm = (m["ampm"] or "").lower()
    if ampm in ("午後", "pm") and hour < 12:
        hour += 12
    elif ampm in ("午前", "am") and hour == 12:
        hour = 0
    try:
        naive = datetime(
            int(m["y"]), int(m["mo"]), int(m["d"]), hour, int(m["mi"]), int(m["s"] or 0)
        )
    except ValueError:
        return None
    if m["off"] is None:
        return local_to_utc(naive, tz)
    if not EARLIEST <= naive < LATEST:  # also keeps the offset arithmetic from overflowing
        return None
    sign = -1 if m["off"].startswith("-") else 1
    offset = timedelta(hours=abs(int(m["off"])), minutes=int(m["offm"] or 0)) * sign
    return pd.Timestamp(naive - offset, tz="UTC").as_unit("us")


def stable_id(prefix: str, *parts: object) -> str:
    """A short id derived from the response's own identity (never from personal data)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()
    return f"{prefix}{digest[:16]}"
