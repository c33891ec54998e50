"""Cell normalisation shared by the readers: text, choice lists, timestamps, encodings."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from koryu_pipeline.codebook import normalise_text

__all__ = [
    "decode_csv_bytes",
    "excel_serial_to_datetime",
    "local_to_utc",
    "normalise_text",
    "parse_google_timestamp",
    "parse_google_timestamps",
    "split_choices",
    "stable_id",
    "utf8_csv",
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

# The same stamps as the exports write them, in bulk (RE2): ASCII digits and punctuation,
# spaces, 午前/午後. On such text normalise_text only folds runs of spaces (NFKC leaves ASCII
# and these ideographs alone), so each group captures what _GOOGLE_TS captures in the
# normalised text. Any other text (full-width digits, tabs, words) goes to the scalar parser.
_BULK_TS = (
    r"^ *(?P<y>[0-9]{4})[/-](?P<mo>[0-9]{1,2})[/-](?P<d>[0-9]{1,2}) +"
    r"(?P<h>[0-9]{1,2}):(?P<mi>[0-9]{2})(?::(?P<s>[0-9]{2}))?"
    r"(?: *(?P<ampm>午前|午後|AM|PM|am|pm))?"
    r"(?: *(?:GMT|UTC)(?P<off>[+-][0-9]{1,2})(?::?(?P<offm>[0-9]{2}))?)? *$"
)
# The two layouts the exports write (the linked Sheet's, the direct download's), read off
# their bytes; both are text _BULK_TS takes, group for group.
_SHEET_TS = r"^[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{1,2}:[0-9]{2}:[0-9]{2}$"
_DOWNLOAD_SUFFIX = " 午前 GMT+9".encode()
_DOWNLOAD_TS = r"^[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{1,2}:[0-9]{2}:[0-9]{2} 午[前後] GMT\+9$"
_US = 1_000_000
_EPOCH = datetime(1970, 1, 1)


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


def _utf8_valid(data: memoryview) -> bool:
    """Strict UTF-8, as bytes.decode("utf-8") takes it (Arrow's validation: no overlong
    forms, surrogates or code points past U+10FFFF), without building the text."""
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    array = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), 1, [None, offsets, pa.py_buffer(data)]
    )
    try:
        array.cast(pa.large_string())
    except pa.ArrowInvalid:
        return False
    return True


def utf8_csv(data: bytes) -> tuple[memoryview, str] | None:
    """(the text's UTF-8 bytes, encoding) when decode_csv_bytes would read `data` as UTF-8,
    with or without a BOM, undamaged -- its text is then these bytes, which need not be
    decoded whole; None otherwise (decode_csv_bytes decides)."""
    if data.startswith((b"PK\x03\x04", b"\xff\xfe", b"\xfe\xff")):
        return None
    bom = data.startswith(b"\xef\xbb\xbf")
    view = memoryview(data)[3 if bom else 0 :]
    if not _utf8_valid(view):
        return None
    nul = data.count(b"\x00")
    if nul:  # binary data when more than 1% of the characters are NUL
        chars = len(view) - np.count_nonzero((np.frombuffer(view, np.uint8) & 0xC0) == 0x80)
        if nul * 100 > chars:
            return None
    return view, "utf-8-sig" if bom else "utf-8"


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


def _day_offset(day: int, zone: ZoneInfo) -> int | None:
    """The zone's UTC offset (seconds) throughout a local day (days since 1970-01-01), or
    None when it changes that day or a time of it is ambiguous (DST, a zone's new offset):
    those times are converted one by one, as local_to_utc does."""
    start = _EPOCH + timedelta(days=day)
    seen = {
        (start + timedelta(hours=h)).replace(tzinfo=zone, fold=fold).utcoffset()
        for h in range(25)
        for fold in (0, 1)
    }
    if len(seen) != 1:
        return None
    (offset,) = seen
    if offset is None or offset.microseconds:
        return None
    return offset.days * 86400 + offset.seconds


def _ints(text: pa.Array, default: int = 0) -> np.ndarray:
    """Digits -> int64; an empty string (a group that did not take part) -> default."""
    filled = pc.if_else(pc.equal(text, ""), str(default), text)
    return pc.cast(filled, pa.int64()).to_numpy(zero_copy_only=False)


@dataclass
class _StampFields:
    """What _GOOGLE_TS captures, per row, as numbers (rows not matched: defaults)."""

    matched: np.ndarray
    y: np.ndarray
    mo: np.ndarray
    d: np.ndarray
    h: np.ndarray
    mi: np.ndarray
    s: np.ndarray
    am: np.ndarray  # 午前 / AM / am
    pm: np.ndarray  # 午後 / PM / pm
    has_off: np.ndarray  # an offset written (GMT+9)
    off_s: np.ndarray  # that offset, in seconds

    @classmethod
    def empty(cls, n: int) -> _StampFields:
        ones, zeros, no = np.ones(n, np.int64), np.zeros(n, np.int64), np.zeros(n, bool)
        return cls(
            no,
            ones,
            ones.copy(),
            ones.copy(),
            zeros,
            zeros.copy(),
            zeros.copy(),
            no.copy(),
            no.copy(),
            no.copy(),
            zeros.copy(),
        )


def _fixed_fields(out: _StampFields, stamps: pa.Array, rows: np.ndarray, suffix: int) -> None:
    """The fields of stamps of a fixed layout ("2023/11/20 15:04:05", with `suffix` more
    bytes after it), read off their bytes: the digits sit at known places."""
    offsets = np.frombuffer(stamps.buffers()[1], np.int64)[stamps.offset :]
    data = np.frombuffer(stamps.buffers()[2], np.uint8)
    start, end = offsets[rows], offsets[rows + 1] - suffix

    def digits(at: np.ndarray, count: int = 2) -> np.ndarray:
        value = np.zeros(len(at), np.int64)
        for k in range(count):
            value = value * 10 + data[at + k] - 48
        return value

    out.matched[rows] = True
    out.y[rows], out.mo[rows], out.d[rows] = digits(start, 4), digits(start + 5), digits(start + 8)
    two = end - start == 19  # a two-digit hour
    out.h[rows] = np.where(two, digits(start + 11), digits(start + 11, 1))
    out.mi[rows], out.s[rows] = digits(end - 5), digits(end - 2)


def _stamp_fields(stamps: pa.Array) -> _StampFields:
    n = len(stamps)
    out = _StampFields.empty(n)
    sheet = pc.match_substring_regex(stamps, _SHEET_TS).to_numpy(zero_copy_only=False)
    rest = ~sheet
    _fixed_fields(out, stamps, np.flatnonzero(sheet), 0)
    if rest.any():
        download = rest & pc.match_substring_regex(stamps, _DOWNLOAD_TS).to_numpy(
            zero_copy_only=False
        )
        rows = np.flatnonzero(download)
        _fixed_fields(out, stamps, rows, len(_DOWNLOAD_SUFFIX))
        after = np.frombuffer(stamps.buffers()[1], np.int64)[stamps.offset :][rows + 1]
        # 前 / 後 is bytes -9..-7 from the end (" GMT+9" after it): its middle byte differs
        pm = np.frombuffer(stamps.buffers()[2], np.uint8)[after - 8] == "後".encode()[1]
        out.pm[rows], out.am[rows] = pm, ~pm
        out.has_off[rows], out.off_s[rows] = True, 9 * 3600
        rest &= ~download
    rows = np.flatnonzero(rest)
    if not len(rows):
        return out
    parts = pc.extract_regex(pc.take(stamps, pa.array(rows)), _BULK_TS)
    out.matched[rows] = parts.is_valid().to_numpy(zero_copy_only=False)
    for name, default in (("y", 1), ("mo", 1), ("d", 1), ("h", 0), ("mi", 0), ("s", 0)):
        getattr(out, name)[rows] = _ints(parts.field(name), default)
    ampm = parts.field("ampm")
    out.pm[rows] = pc.is_in(ampm, pa.array(["午後", "PM", "pm"])).to_numpy(zero_copy_only=False)
    out.am[rows] = pc.is_in(ampm, pa.array(["午前", "AM", "am"])).to_numpy(zero_copy_only=False)
    off = parts.field("off")
    out.has_off[rows] = pc.not_equal(off, "").to_numpy(zero_copy_only=False)
    sign = np.where(pc.starts_with(off, "-").to_numpy(zero_copy_only=False), -1, 1)
    off_h = _ints(pc.utf8_slice_codeunits(off, 1))
    out.off_s[rows] = sign * (off_h * 3600 + _ints(parts.field("offm")) * 60)
    return out


def parse_google_timestamps(stamps: pa.Array | pa.ChunkedArray, tz: str) -> pa.Array:
    """parse_google_timestamp over a column, in bulk: a timestamp[us, UTC] array, null where
    the scalar function gives None. Stamps as the exports write them are read off their
    bytes (the two layouts the exports write) or by one RE2 pass, converted by numpy with
    the zone's offset of their local day when that offset holds all day; any other stamp
    (other text, a day the offset changes) is handed to parse_google_timestamp once per
    distinct text."""
    if isinstance(stamps, pa.ChunkedArray):
        stamps = stamps.combine_chunks()
    stamps = stamps.cast(pa.large_string())
    n = len(stamps)
    f = _stamp_fields(stamps)
    matched, y, mo, d, mi, s = f.matched, f.y, f.mo, f.d, f.mi, f.s
    h = np.where(f.pm & (f.h < 12), f.h + 12, np.where(f.am & (f.h == 12), 0, f.h))
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    month_days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    in_month = (mo >= 1) & (mo <= 12)
    days_in = np.where(in_month, month_days[np.clip(mo, 1, 12) - 1], 0) + (leap & (mo == 2))
    ok = matched & (y >= 1) & in_month & (d >= 1) & (d <= days_in) & (h <= 23)
    ok &= (mi <= 59) & (s <= 59)
    # days since 1970-01-01 of the valid dates (others: 1970-01-01, masked out)
    months = np.where(ok, (y - 1970) * 12 + mo - 1, 0).astype("datetime64[M]")
    day = months.astype("datetime64[D]").astype(np.int64) + np.where(ok, d - 1, 0)
    naive = ((day * 24 + h) * 60 + mi) * 60 + s  # local seconds since the epoch
    low = (EARLIEST - _EPOCH) // timedelta(seconds=1)
    high = (LATEST - _EPOCH) // timedelta(seconds=1)
    ok &= (naive >= low) & (naive < high)
    has_off, off_s = f.has_off, f.off_s
    utc = naive - off_s
    # no offset written: the zone's offset of the local day, where it holds all day
    local = ok & ~has_off
    scalar = ~matched
    if local.any():
        zone = ZoneInfo(tz)
        days = np.sort(pc.unique(pa.array(day[local])).to_numpy())
        offsets = [_day_offset(int(x), zone) for x in days]
        known = np.array([o is not None for o in offsets])
        by_day = np.array([o or 0 for o in offsets], dtype=np.int64)
        at = np.searchsorted(days, day[local])
        utc[local] = naive[local] - by_day[at]
        unknown = np.zeros(n, dtype=bool)
        unknown[np.flatnonzero(local)[~known[at]]] = True
        ok &= ~unknown
        scalar |= unknown
    values = utc * _US
    if scalar.any():  # once per distinct text
        rows = np.flatnonzero(scalar)
        texts = pc.take(stamps, pa.array(rows))
        distinct = pc.unique(texts)
        found = [parse_google_timestamp(t, tz) for t in distinct.to_pylist()]
        hit = np.array([t is not None for t in found])
        micros = np.array([0 if t is None else t.value // 1000 for t in found], dtype=np.int64)
        codes = pc.index_in(texts, value_set=distinct).to_numpy(zero_copy_only=False)
        ok[rows] = hit[codes]
        values[rows] = micros[codes]
    return pa.array(values, pa.timestamp("us", tz="UTC"), mask=~ok)


def stable_id(prefix: str, *parts: object) -> str:
    """A short id derived from the response's own identity (never from personal data)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()
    return f"{prefix}{digest[:16]}"
