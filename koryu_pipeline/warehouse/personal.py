"""Personal data: what it looks like, how it is taken out of text, and the test that none is
about to be written.

The exports carry personal columns (Microsoft Forms' メール / 名前) that are never copied, but
people also type personal data where it does not belong: an e-mail address or a telephone
number into 府省等名 or 人事系統, another respondent's name into a free-text cell. Such text is
replaced by `MARKER` before anything is written (the readers scrub every cell they keep;
`scrub_text` is the pattern part, `Scrubber` adds the export's own personal values), and
`personal_data_found` is the last line of defence: the wave's writer runs it on the tables
about to be committed and writes nothing when it finds anything. It looks at each text
column's distinct values, lets RE2 (vectorised, in Arrow) clear those that cannot match, and
runs the patterns below on the rest only.

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
import sys
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from functools import cache

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
    """The telephone numbers in `text`, as spans to scrub. Every place a number can start
    is tried, not only after the last candidate: digits before a number can make a
    candidate that overlaps it ("011 03-1234" has 9 digits, "011 090-1234" 10), and
    overlapping numbers are scrubbed as one span, so "011 090-1234-5678" loses all of it."""
    spans: list[tuple[int, int]] = []
    pos = 0
    while (m := PHONE.search(text, pos)) is not None:
        if _is_phone(m.group()):
            start, end = m.span()
            if spans and start < spans[-1][1]:  # overlaps the last one: one span
                start, last_end = spans.pop()
                end = max(end, last_end)
            spans.append((start, end))
        pos = m.start() + 1
    return spans


@cache
def _maybe() -> re.Pattern[str]:
    """Text without one of these characters cannot hold a pattern, in itself or in its NFKC
    form: @, the decimal digits, and every character NFKC turns into text with one of them
    (＠, ﹫, ①, ¹, ⑴ ...)."""
    digits, _, images, multi = _nfkc_tables()
    chars = {"@", *digits, *images.get("@", ()), *multi}
    chars.update(*(images.get(d, ()) for d in digits))
    return re.compile("[" + "".join(map(re.escape, sorted(chars))) + "]")


def has_pattern(text: str) -> bool:
    """An e-mail address or a telephone number in `text` (or its NFKC form)."""
    if not _maybe().search(text):
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


# --------------------------------------------------------------------------- the check
#
# `personal_data_found` runs on every table of a wave, twice (before the write, and as the
# asset check), at a million responses and more. A column's texts are taken as Arrow (its
# distinct values, unless it is a column of distinct keys), RE2 clears in one vectorised
# pass those that cannot match -- `_prefilter()` is EMAIL and PHONE loosened into a
# regular expression on the text as it is, before NFKC, that matches wherever the exact
# patterns could -- and the exact test, `has_pattern`, runs in Python on the few left.

# Values the pipeline computes and that carry no text of an export: respondent_id is a hash
# of the response (ingest/validation), so it cannot hold an address or a number.
COMPUTED_COLUMNS = frozenset({"respondent_id"})

_DASHES = "-‐‑‒–—―−ー"  # PHONE's separators, with \s
_PATTERN_ASCII = frozenset("0123456789+()@")


def _class(chars: Iterable[str]) -> str:
    """An RE2 character class of exactly `chars`, as code point ranges."""
    points = sorted({ord(c) for c in chars})
    ranges: list[list[int]] = []
    for p in points:
        if ranges and p == ranges[-1][1] + 1:
            ranges[-1][1] = p
        else:
            ranges.append([p, p])
    body = "".join(f"\\x{{{a:x}}}" if a == b else f"\\x{{{a:x}}}-\\x{{{b:x}}}" for a, b in ranges)
    return f"[{body}]"


@cache
def _nfkc_tables() -> tuple[set[str], set[str], dict[str, set[str]], set[str]]:
    """re's \\d and \\s (Unicode decimal digits, spaces), and what NFKC does to the
    characters it changes that matter to the patterns: `images`, a pattern character -> the
    characters NFKC turns into it alone; `multi`, those it turns into several, one of them a
    pattern character. One pass over every code point, once per process."""

    def every() -> Iterable[str]:
        return map(chr, range(sys.maxunicode + 1))

    digits = set(filter(str.isdecimal, every()))  # re's \d: Unicode decimal digits
    spaces = set(filter(str.isspace, every()))  # re's \s
    relevant = digits | spaces | set(_DASHES) | _PATTERN_ASCII
    images: dict[str, set[str]] = {}  # a character -> those NFKC turns into it
    multi: set[str] = set()
    for c in filter(unicodedata.decomposition, every()):
        norm = unicodedata.normalize("NFKC", c)
        if norm == c or not relevant.intersection(norm):
            continue
        if len(norm) == 1:
            images.setdefault(norm, set()).add(c)
        else:
            multi.add(c)
    return digits, spaces, images, multi


@cache
def _prefilter() -> str:
    """A regular expression (RE2) on raw text that matches wherever EMAIL or PHONE could
    match its NFKC form: each class of the patterns widened by the characters NFKC turns into
    one of its members (full-width digits, ＋, （, ＠, the ideographic space ...), and any
    character that NFKC turns into several, one of them a pattern character (⑴, ㈱, ㎡), is
    a candidate by itself. The boundaries are ASCII, which only loosens them: NFKC keeps
    ASCII as it is (a letter it composes with a mark is allowed for). Python's own \\d and
    \\s are enumerated: RE2's are ASCII."""
    digits, spaces, images, multi = _nfkc_tables()

    def widened(members: Iterable[str]) -> str:
        chars = set(members)
        return _class(chars.union(*(images.get(m, ()) for m in chars)))

    d, s = widened(digits), widened(set(_DASHES) | spaces)
    zero, nonzero = widened("0"), widened("123456789")
    plus, left, right = widened("+"), widened("("), widened(")")
    phone = (
        f"(?:{plus}{nonzero}{d}{{0,2}}{s}?(?:{left}{zero}{right}{s}?)?{d}{{1,4}}(?:{s}?{d}{{1,4}}){{1,4}}"
        f"|{left}{zero}{d}{{1,4}}{right}{s}?{d}{{1,4}}{s}?{d}{{3,4}}"
        f"|{zero}{d}{{1,4}}{left}{d}{{1,4}}{right}{d}{{3,4}}"
        f"|{zero}{d}{{1,4}}{s}{d}{{1,4}}{s}{d}{{3,4}}"
        f"|{zero}{d}{{9,10}})"
    )
    # NFKC composes a letter with the mark after it (a + ◌́ = á): a letter followed by
    # anything not ASCII may be no ASCII letter at all
    after = "(?:$|[^0-9A-Za-z]|[A-Za-z][^\\x00-\\x7f])"
    return f"{widened('@')}|{_class(multi)}|(?:^|[^0-9A-Za-z+]){phone}{after}"


def may_have_pattern(texts: pa.Array | pa.ChunkedArray) -> pa.BooleanArray | pa.ChunkedArray:
    """Per text: could it hold an e-mail address or a telephone number (`has_pattern`)?
    False only where it certainly cannot; vectorised (RE2), for any number of texts."""
    return pc.match_substring_regex(texts, _prefilter())


_SAMPLE = 10_000


def _arrow_texts(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray | None:
    """The texts of an Arrow column to search (list cells element by element, dictionaries
    as the values they use); None when it holds no text. Distinct values where the column
    repeats itself; where a sample of it does not (ids, keys), all of them: hashing a
    million long distinct texts costs more than searching them."""
    t = values.type
    if pa.types.is_dictionary(t):
        values = pc.unique(values)
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        return _arrow_texts(values.dictionary_decode())
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return _arrow_texts(pc.list_flatten(values))
    if pa.types.is_struct(t):  # each field's texts (the per-file cache's rule records)
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        parts = [_arrow_texts(values.field(i)) for i in range(t.num_fields)]
        texts = [
            (p.combine_chunks() if isinstance(p, pa.ChunkedArray) else p).cast(pa.string())
            for p in parts
            if p is not None
        ]
        return pa.concat_arrays(texts) if texts else None
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        sample = values.slice(0, _SAMPLE)
        if len(values) > _SAMPLE and pc.count_distinct(sample).as_py() > len(sample) // 2:
            return values.drop_null()
        return pc.unique(values).drop_null()
    return None


def _python_texts(values: Iterable[object]) -> pa.Array:
    """Texts of a column of Python objects, the way they are written: strings, and the
    elements of tuple and list cells (as text); anything else holds no text."""
    out: list[str] = []
    for v in values:
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, tuple | list):
            out.extend(str(x) for x in v)
    return pc.unique(pa.array(out, pa.string()))


def _pandas_texts(column: pd.Series) -> pa.Array | pa.ChunkedArray | None:
    """`_arrow_texts` of a pandas column, without visiting each cell in Python where Arrow
    can convert it (string dtypes are Arrow already; object columns are reduced to their
    distinct values first)."""
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        used = pd.unique(column.cat.codes[column.cat.codes >= 0])
        return _pandas_texts(pd.Series(column.cat.categories.take(used), dtype=object))
    if isinstance(dtype, pd.ArrowDtype | pd.StringDtype):
        return _arrow_texts(pa.array(column.array))
    if not pd.api.types.is_object_dtype(dtype):
        return None  # numbers, booleans, timestamps: no text
    try:
        distinct = pd.unique(column)  # None and NaN become nulls below
    except TypeError:  # unhashable cells (lists): each cell, in Python
        return _python_texts(column.tolist())
    try:
        return _arrow_texts(pa.array(distinct, from_pandas=True))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError):
        return _python_texts(distinct.tolist())  # mixed cells


_BATCH_BYTES = 64 << 20


def _may_have_pattern_each(arrays: list[pa.Array]) -> list[pa.BooleanArray]:
    """`may_have_pattern` of each array, in few RE2 calls: Arrow compiles the pattern once
    per call and chunk (milliseconds), so small arrays are searched together."""
    batches: list[list[pa.Array]] = [[]]
    size = 0
    for array in arrays:
        if batches[-1] and size + array.nbytes > _BATCH_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(array)
        size += array.nbytes
    masks: list[pa.BooleanArray] = []
    for batch in filter(None, batches):
        mask = may_have_pattern(batch[0] if len(batch) == 1 else pa.concat_arrays(batch))
        start = 0
        for array in batch:
            masks.append(mask.slice(start, len(array)))
            start += len(array)
    return masks


def _texts(data: pd.DataFrame | pa.Table, i: int) -> pa.Array | pa.ChunkedArray | None:
    if isinstance(data, pa.Table):
        return _arrow_texts(data.column(i))
    return _pandas_texts(data.iloc[:, i])


def personal_data_in(
    tables: Mapping[str, pd.DataFrame | pa.Table], skip: Iterable[str] = COMPUTED_COLUMNS
) -> dict[str, list[str]]:
    """`personal_data_found` for several tables at once (their texts searched by RE2
    together): each table that carries personal data -> its columns concerned."""
    skipped = set(skip)
    found: dict[str, list[str]] = {}
    searched: list[tuple[str, str, pa.Array]] = []
    for key, data in tables.items():
        names = data.column_names if isinstance(data, pa.Table) else [str(c) for c in data.columns]
        found[key] = [c for c in names if any(h in c for h in PERSONAL_HEADERS)]
        for i, name in enumerate(names):
            texts = None if name in skipped else _texts(data, i)
            if texts is not None and len(texts):
                # chunk by chunk: combining the chunks would copy the column (a million
                # response keys: 0.3 GiB)
                chunks = texts.chunks if isinstance(texts, pa.ChunkedArray) else [texts]
                searched += [(key, name, c.cast(pa.large_string())) for c in chunks if len(c)]
    masks = _may_have_pattern_each([texts for *_, texts in searched])
    hit: set[tuple[str, str]] = set()
    for (key, name, texts), mask in zip(searched, masks, strict=True):
        if (key, name) in hit:
            continue
        if any(has_pattern(t) for t in pc.unique(texts.filter(mask)).to_pylist()):
            hit.add((key, name))
            found[key].append(name)
    return {key: cols for key, cols in found.items() if cols}


def personal_data_found(
    data: pd.DataFrame | pa.Table, skip: Iterable[str] = COMPUTED_COLUMNS
) -> list[str]:
    """Columns that carry personal data: a personal header, or an e-mail address or a
    telephone number in a cell (list cells included). Empty when clean. Only the texts RE2
    cannot clear are tested in Python; the columns in `skip` (values the pipeline computes)
    are not searched."""
    return personal_data_in({"": data}, skip).get("", [])
