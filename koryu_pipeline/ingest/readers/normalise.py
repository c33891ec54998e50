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
# "2023/11/20 15:04:05", "2023/11/20 3:04:05 午後 GMT+9" (Google Sheets' Japanese locale)
_GOOGLE_TS = re.compile(
    r"^(?P<y>\d{4})[/-](?P<mo>\d{1,2})[/-](?P<d>\d{1,2})\s+"
    r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?"
    r"(?:\s*(?P<ampm>午前|午後|AM|PM|am|pm))?"
    r"(?:\s*(?:GMT|UTC)(?P<off>[+-]\d{1,2})(?::?(?P<offm>\d{2}))?)?$"
)


class EncodingError(ValueError):
    pass


def decode_csv_bytes(data: bytes) -> tuple[str, str]:
    """Decode a Google Forms CSV by its content: a UTF-8 BOM, else strict UTF-8, else
    strict CP932 (what Excel writes on a Japanese Windows). Returns (text, encoding)."""
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:  # a BOM says UTF-8: damaged, not another encoding
            raise EncodingError(f"UTF-8 with a BOM, but {exc}") from None
    for encoding in ("utf-8", "cp932"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise EncodingError("neither UTF-8 nor CP932")


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


def local_to_utc(value: datetime, tz: str) -> pd.Timestamp:
    return pd.Timestamp(value.replace(tzinfo=ZoneInfo(tz))).tz_convert("UTC").as_unit("us")


def excel_serial_to_datetime(serial: float) -> datetime:
    # Excel's 1900 date system, with its phantom 1900-02-29 absorbed by the 1899-12-30 epoch
    return _EXCEL_EPOCH + timedelta(days=float(serial))


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
    sign = -1 if m["off"].startswith("-") else 1
    offset = timedelta(hours=abs(int(m["off"])), minutes=int(m["offm"] or 0)) * sign
    return pd.Timestamp(naive - offset, tz="UTC").as_unit("us")


def stable_id(prefix: str, *parts: object) -> str:
    """A short id derived from the response's own identity (never from personal data)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()
    return f"{prefix}{digest[:16]}"
