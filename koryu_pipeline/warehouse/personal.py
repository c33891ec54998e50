"""Personal data: what it looks like, how it is taken out of text, and the test that none is
about to be written.

The exports carry personal columns (Microsoft Forms' メール / 名前) that are never copied, but
people also type personal data where it does not belong: an e-mail address or a telephone
number into 府省等名 or 人事系統, another respondent's name into a free-text cell. Such text is
replaced by `MARKER` before anything is written (the readers scrub every cell they keep;
`scrub_text` is the pattern part, `Scrubber` adds the export's own personal values), and
`personal_data_found` is the last line of defence: the wave's writer runs it on the tables
about to be committed and writes nothing when it finds anything.

Patterns, applied to the NFKC form of the text (full-width digits and ＠ count):
- e-mail: `local@domain.tld`;
- Japanese telephone numbers, 10 or 11 digits starting with 0, written with hyphens, spaces or
  parentheses or as one run of digits: 03-1234-5678, 090-1234-5678, (03)1234-5678,
  03(1234)5678, 0120-123-456, 09012345678;
- international numbers: + country code and 7-14 more digits (+81 3-1234-5678,
  +81(0)90-1234-5678, +1 212 555 0100).
A digit run inside a longer number or word (dates, ISO times, hexadecimal ids, Excel serials)
never matches: the patterns need a non-alphanumeric character on both sides.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# NFKC leaves 【】 alone, so the marker survives any later normalisation unchanged.
MARKER = "【個人情報削除】"
PERSONAL_HEADERS = ("メール", "名前")  # columns that must never appear in a table

# Starting only where a run of address characters starts, and never giving back what a
# run matched (possessive), the search is linear: a 300,000-character cell must not cost
# hours of backtracking.
EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]++@[\w-]++(?:\.[\w-]++)+")
# D: a hyphen-like (after NFKC) or a space between digit groups
PHONE = re.compile(
    r"""
    (?<![0-9A-Za-z+])                                     # not inside a number or word
    (?:
        \+[1-9]\d{0,2} D? (?:\(0\) D?)? \d{1,4} (?:D? \d{1,4}){1,4}  # +81 3-1234-5678
      | \(0\d{1,4}\) D? \d{1,4} D? \d{3,4}                       # (03)1234-5678
      | 0\d{1,4} \(\d{1,4}\) \d{3,4}                             # 03(1234)5678
      | 0\d{1,4} D \d{1,4} D \d{3,4}                             # 03-1234-5678
      | 0\d{9,10}                                                # 0312345678
    )
    (?![0-9A-Za-z])
    """.replace("D", r"[-‐‑‒–—―−ー\s]"),
    re.VERBOSE,
)


def _is_phone(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    if candidate.startswith("+"):
        return 8 <= len(digits) <= 15
    return 10 <= len(digits) <= 11


def _phone_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in PHONE.finditer(text) if _is_phone(m.group())]


_MAYBE = re.compile(r"[@＠\d]")  # \d: full-width digits too


def has_pattern(text: str) -> bool:
    """An e-mail address or a telephone number in `text` (or its NFKC form)."""
    if not _MAYBE.search(text):
        return False
    norm = unicodedata.normalize("NFKC", text)
    return bool(EMAIL.search(norm) or _phone_spans(norm))


def scrub_text(text: str) -> str:
    """`text` with every e-mail address and telephone number replaced by MARKER; the text
    itself (not its NFKC form) when there is none, so clean text never changes."""
    if not has_pattern(text):
        return text
    norm = EMAIL.sub(MARKER, unicodedata.normalize("NFKC", text))
    for start, end in reversed(_phone_spans(norm)):
        norm = norm[:start] + MARKER + norm[end:]
    return norm


def _fold(text: str) -> str:
    """How a personal value is compared: NFKC, case-folded, without any whitespace."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def has_pattern_only(value: str) -> bool:
    """A personal cell that is itself an e-mail address: the patterns catch it anywhere, so it
    need not be matched as a name too."""
    return bool(EMAIL.fullmatch(unicodedata.normalize("NFKC", value).strip()))


class Scrubber:
    """Scrubs text of e-mail addresses, telephone numbers and the personal values of one
    export (its メール and 名前 cells). A cell holding one of those values, however spaced
    (山田 太郎, 山田太郎, 山田　太郎), becomes MARKER as a whole. Values shorter than two
    characters are not matched: one character would scrub ordinary words."""

    MIN_LENGTH = 2

    def __init__(self, personal_values: Iterable[object] = ()) -> None:
        folded = {
            _fold(v) for v in personal_values if isinstance(v, str) and not has_pattern_only(v)
        }
        self.names = frozenset(f for f in folded if len(f) >= self.MIN_LENGTH)
        self.lengths = sorted({len(n) for n in self.names})

    def _has_name(self, text: str) -> bool:
        folded = _fold(text)
        for size in self.lengths:
            if size > len(folded):
                break
            if any(folded[i : i + size] in self.names for i in range(len(folded) - size + 1)):
                return True
        return False

    def __call__(self, text: str) -> str:
        out = scrub_text(text)
        if self.names and self._has_name(out):
            return MARKER
        return out


def scrub_series(values: pd.Series, scrub: Callable[[str], str] = scrub_text) -> pd.Series:
    """`scrub` applied to each distinct text of a column (list cells element by element);
    the column itself when nothing changes, so clean data keeps its dtype and identity."""
    mapping: dict[object, object] = {}
    for v in values.dropna().unique() if len(values) else ():
        if isinstance(v, str):
            new: object = scrub(v)
        elif isinstance(v, tuple):
            new = tuple(scrub(x) if isinstance(x, str) else x for x in v)
        else:
            continue
        if new != v:
            mapping[v] = new
    if not mapping:
        return values
    return values.map(lambda v: mapping.get(v, v) if isinstance(v, str | tuple) else v)


def _text_columns(table: pa.Table) -> Iterable[tuple[str, pa.ChunkedArray]]:
    for name, column in zip(table.column_names, table.columns, strict=True):
        t = column.type
        if pa.types.is_list(t) or pa.types.is_large_list(t):
            column = pc.list_flatten(column)
            t = column.type
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            yield name, column


def personal_data_found(data: pd.DataFrame | pa.Table) -> list[str]:
    """Columns that carry personal data: a personal header, or an e-mail address or a
    telephone number in a cell (list cells included). Empty when clean. One pass over each
    text column's distinct values."""
    names = data.column_names if isinstance(data, pa.Table) else [str(c) for c in data.columns]
    found = [c for c in names if any(h in c for h in PERSONAL_HEADERS)]
    table = data if isinstance(data, pa.Table) else _as_arrow(data)
    for name, column in _text_columns(table):
        texts = pc.unique(column).drop_null().to_pylist()
        if any(has_pattern(t) for t in texts):
            found.append(name)
    return found


def _as_arrow(frame: pd.DataFrame) -> pa.Table:
    """A frame's text as Arrow: text and list-of-text columns, the rest left out (numbers,
    booleans and timestamps cannot hold an address)."""
    arrays: dict[str, pa.Array] = {}
    for c in frame.columns:
        col = frame[c]
        if not (col.dtype == object or pd.api.types.is_string_dtype(col)):
            continue
        texts = [
            list(v) if isinstance(v, tuple | list) else (v if isinstance(v, str) else None)
            for v in col.tolist()
        ]
        if any(isinstance(v, list) for v in texts):
            texts = [
                [str(x) for x in v] if isinstance(v, list) else ([v] if v is not None else None)
                for v in texts
            ]
            arrays[str(c)] = pa.array(texts, pa.list_(pa.string()))
        else:
            arrays[str(c)] = pa.array(texts, pa.string())
    return pa.table(arrays) if arrays else pa.table({})
