"""What every reader returns, and what the readers share: finding the header row, matching
headers to the form, and turning raw cells into scrubbed, normalised columns.

A reader turns one export file into a *wide* frame: one row per data row of the file, the
columns `source_file`, `source_row` (the row number a spreadsheet shows: the header's own row
number + 1 for the first data row, 2 when the header is the first row), `submitted_at` (UTC),
`response_key` (the response's identity across exports), `submitted_text` (the submission
cell as written when it cannot be read as a time, else None; kept for the rejection, not
written) and one column per codebook field holding a normalised label, a tuple of labels
(multi / top-N) or text.

Personal columns (メール, 名前, and the like) are never copied into it: their values are
read only to scrub them out of every other cell (`warehouse/personal.py`), then dropped. A
file that cannot be read, or lacks a column of its form, comes back with `problem` set and no
frame; a data row that cannot be split into cells (a CSV row with a broken quote) is a
`row_problems` entry and counts among `rows`.

The helpers come in two kinds: per cell (`collect`, `field_cells`: Python lists) and per
column (`factorize`, `field_column`, `blank_cells`, `join_text`, `frame_column`: Arrow
columns, each distinct value converted once and mapped back by codes), which give the same
values without a Python object per cell.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import islice, permutations
from operator import itemgetter

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from koryu_pipeline.codebook import Field, Form, normalise_text
from koryu_pipeline.ingest.readers.normalise import split_choices
from koryu_pipeline.warehouse.personal import Scrubber, scrub_text

META_COLUMNS = ("source_file", "source_row", "submitted_at", "response_key")
SUBMITTED_TEXT = "submitted_text"
# Header words of the columns that hold personal data (Microsoft Forms' メール / 名前, Google
# Forms' メールアドレス when the form collects addresses), matched in normalised, case-folded
# headers of columns that are not the form's own.
PERSONAL_WORDS = ("メール", "名前", "氏名", "email", "e-mail", "mail address")
HEADER_SEARCH_ROWS = 30  # the header is looked for among this many rows from the top
VALUE_SHOWN = 200  # characters of a cell copied into a rejection; longer ones are cut
# What str.strip() strips (str.isspace()), as an RE2 class: a cell of only these is empty.
WHITESPACE = (
    r"[\x{9}-\x{d}\x{1c}-\x{20}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}"
    r"\x{202f}\x{205f}\x{3000}]"
)
# pandas' own type for a column of text (and missing values) built from Python strings
TEXT_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)
BATCH_ROWS = 1 << 16  # rows joined at a time when text columns are concatenated


@dataclass(frozen=True)
class FileProblem:
    # unreadable_file | missing_column | no_form | ignored_file | outside_raw
    rule: str
    column: str | None
    message: str


@dataclass(frozen=True)
class RowProblem:
    """A data row rejected by the reader itself (it has no cells to validate)."""

    source_row: int
    rule: str  # malformed_row
    message: str


@dataclass
class ParsedExport:
    source_file: str
    rows: int  # data rows in the file: frame rows + row_problems (0 when not read)
    frame: pd.DataFrame | None = None
    problem: FileProblem | None = None
    encoding: str | None = None
    row_problems: list[RowProblem] = field(default_factory=list)
    digest: str | None = None  # SHA-256 of the bytes parsed; None when the file was not read


def unreadable(source_file: str, reason: str, rule: str = "unreadable_file") -> ParsedExport:
    """A file rejected whole because it cannot (or must not) be read as its export format.
    The reason may quote a library's error: it is scrubbed like any other text."""
    return ParsedExport(
        source_file, 0, problem=FileProblem(rule, None, scrub_text(f"{source_file}: {reason}"))
    )


def is_personal_header(header: str) -> bool:
    key = normalise_text(header).casefold()
    return any(w in key for w in PERSONAL_WORDS)


def find_header(
    rows: Iterable[tuple[int, Sequence[object]]], known: frozenset[str]
) -> tuple[int, list[str]] | None:
    """(row number, header texts) of the header among the first rows: the earliest of the
    rows naming the most `known` headers (normalised), or the first non-empty row when none
    names any -- so blank or title rows above the header are not data. None when empty."""
    best: tuple[int, int, list[str]] | None = None
    first: tuple[int, list[str]] | None = None
    for number, cells in islice(rows, HEADER_SEARCH_ROWS):
        if empty_row(cells):
            continue
        texts = ["" if c is None else str(c) for c in cells]
        if first is None:
            first = (number, texts)
        score = sum(1 for t in texts if normalise_text(t) in known)
        if score and (best is None or score > best[0]):
            best = (score, number, texts)
    if best is not None:
        return best[1], best[2]
    return first


def collect(
    rows: Iterable[tuple[int, Sequence[object]]], indices: Sequence[int]
) -> tuple[list[int], list[list[object]]]:
    """The non-empty data rows' numbers, and their cells at `indices` as columns (None where a
    row is short). Columns rather than row records: only the cells used are kept."""
    need = max(indices, default=-1) + 1
    pick = itemgetter(*indices) if len(indices) > 1 else None
    numbers: list[int] = []
    picked: list[Sequence[object]] = []
    for number, cells in rows:
        if empty_row(cells):
            continue
        numbers.append(number)
        if len(cells) < need:
            cells = [*cells, *([None] * (need - len(cells)))]
        picked.append(pick(cells) if pick else [cells[i] for i in indices])
    if not picked:
        return numbers, [[] for _ in indices]
    return numbers, [list(col) for col in zip(*picked, strict=True)]


def match_headers(
    form: Form, headers: list[str], header_of: dict[str, str]
) -> tuple[dict[str, int], list[Field]]:
    """Map each codebook field to a column index by header text after normalisation.
    A header that heads several fields (the same likert item text under two questions)
    is resolved by order of appearance -- unless the entries' other columns, matched
    unambiguously, sit elsewhere (the questions were reordered): then each such column goes
    to the entry whose other columns are nearest. Returns (column -> index, fields not
    found)."""
    wanted: dict[str, list[Field]] = defaultdict(list)
    for f in form.fields:
        wanted[normalise_text(header_of[f.column])].append(f)
    found: dict[str, list[int]] = defaultdict(list)
    for idx, raw in enumerate(headers):
        key = normalise_text(raw or "")
        if key in wanted:  # else a column the form does not define (personal data, extras)
            found[key].append(idx)
    positions: dict[str, int] = {}
    shared: list[tuple[list[Field], list[int]]] = []
    for key, fields in wanted.items():
        idxs = found.get(key, [])
        if len(fields) == 1:
            if idxs:
                positions[fields[0].column] = idxs[0]
        else:
            shared.append((fields, idxs))
    for fields, idxs in shared:
        positions.update(_resolve_shared(fields, idxs, positions))
    missing = [f for f in form.fields if f.column not in positions]
    return positions, missing


def _resolve_shared(
    fields: list[Field], idxs: list[int], positions: dict[str, int]
) -> dict[str, int]:
    """Assign the columns `idxs` (in order) sharing one header to `fields` (in form order):
    order of appearance, unless another assignment puts the columns strictly nearer (in
    total) the other columns of their entries."""
    n = min(len(fields), len(idxs))
    anchors: list[float | None] = []
    for f in fields:  # the mean position of the entry's other, unambiguous columns
        own = [positions[i.item_id] for i in f.entry.items if i.item_id in positions]
        anchors.append(sum(own) / len(own) if own else None)
    if len(fields) > 6 or any(a is None for a in anchors):
        return {fields[j].column: idxs[j] for j in range(n)}

    def cost(perm: tuple[int, ...]) -> float:
        return sum(abs(idxs[j] - anchors[perm[j]]) for j in range(n))  # type: ignore[operator]

    best = tuple(range(n))  # order of appearance wins ties
    for perm in permutations(range(len(fields)), n):
        if cost(perm) < cost(best):
            best = perm
    return {fields[best[j]].column: idxs[j] for j in range(n)}


def convert_cell(field: Field, value: object, separators: tuple[str, ...]) -> object:
    """A raw cell -> normalised label / tuple of labels / text / None."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    if field.entry.is_multi:
        return split_choices(text, separators) or None
    norm = normalise_text(text)
    return norm or None


def scrubber_of(columns: Iterable[list[object]]) -> Scrubber:
    """A scrubber for one export, from the values of its personal columns."""
    return Scrubber(v for col in columns for v in col if isinstance(v, str))


def _cell_converter(
    field: Field, separators: tuple[str, ...], scrub: Callable[[str], str]
) -> Callable[[object], object]:
    """A raw cell -> its normalised value, scrubbed: a label of the form is kept as it is;
    any other text (free text, an unknown option) is scrubbed."""
    known = field.entry.option_by_key if field.entry.is_choice else {}

    def one(value: object) -> object:
        out = convert_cell(field, value, separators)
        if isinstance(out, str):
            return out if out in known else scrub(out)
        if isinstance(out, tuple):
            return tuple(dict.fromkeys(v if v in known else scrub(v) for v in out))
        return out

    return one


def field_cells(
    field: Field, raw: list[object], separators: tuple[str, ...], scrub: Callable[[str], str]
) -> list[object]:
    """One field's raw cells -> normalised values, scrubbed of personal data. A label of the
    form is kept as it is; any other text (free text, an unknown option) is scrubbed. Each
    distinct cell is converted once."""
    one = _cell_converter(field, separators, scrub)
    converted = {v: one(v) for v in dict.fromkeys(raw)}
    return [converted[v] for v in raw]


@dataclass
class Coded:
    """A column as distinct values and, per row, the index of its value (as pandas'
    factorize gives them): what a column of a million rows with a few hundred answers is
    converted through, each distinct value once."""

    values: list[object]
    codes: np.ndarray  # int64, one per row

    def __len__(self) -> int:
        return len(self.codes)


def factorize(column: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """(distinct values in order of first appearance, each row's index into them)."""
    distinct = pc.unique(column)
    codes = pc.index_in(column, value_set=distinct)
    return distinct, codes.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)


def field_column(
    field: Field,
    column: pa.Array | pa.ChunkedArray,
    separators: tuple[str, ...],
    scrub: Callable[[str], str],
) -> Coded:
    """field_cells over a text column (Arrow, no nulls: an absent cell is ""): the same
    values, each distinct cell converted once, none held per row."""
    distinct, codes = factorize(column)
    one = _cell_converter(field, separators, scrub)
    return Coded([one(v) for v in distinct.to_pylist()], codes)


def scrubber_of_arrays(columns: Iterable[pa.Array | pa.ChunkedArray]) -> Scrubber:
    """scrubber_of for text columns (Arrow), from their distinct values."""
    return Scrubber(v for col in columns for v in pc.unique(col).to_pylist())


def blank_cells(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Per row: the cell is empty or whitespace only (empty_row's test of one cell)."""
    blank = pc.match_substring_regex(column, f"^{WHITESPACE}*$")
    return blank.to_numpy(zero_copy_only=False)


def text_array(values: Sequence[str | None], codes: np.ndarray) -> pa.Array:
    """values[code] per row, as one Arrow text array (None -> null)."""
    return pc.take(pa.array(values, pa.large_string()), pa.array(codes))


def frame_column(coded: Coded) -> pd.Series:
    """The column pandas builds from the list of the values per row: text (and None) as
    pandas' text type, tuples (or nothing but None) as objects -- shared, one per distinct
    value, never one per row."""
    if any(isinstance(v, str) for v in coded.values):
        return pd.Series(
            pd.arrays.ArrowStringArray(text_array(coded.values, coded.codes), dtype=TEXT_DTYPE),
            copy=False,
        )
    objects = np.empty(len(coded.values), dtype=object)
    for i, v in enumerate(coded.values):
        objects[i] = v
    return pd.Series(objects[coded.codes], dtype=object, copy=False)


def join_text(
    parts: Sequence[pa.Array | tuple[pa.Array, np.ndarray]], rows: int
) -> pa.LargeStringArray:
    """Row by row, the concatenation of text columns, each given whole (an Arrow array) or
    as (distinct texts, codes); built a batch of rows at a time into one array, so the
    columns are never all expanded at once."""

    def lengths(part: pa.Array | tuple[pa.Array, np.ndarray]) -> int:
        if isinstance(part, tuple):
            texts, codes = part
            per = pc.binary_length(texts).to_numpy(zero_copy_only=False).astype(np.int64)
            return int(np.bincount(codes, minlength=len(texts)) @ per) if len(codes) else 0
        return int(pc.sum(pc.binary_length(part)).as_py() or 0)

    total = sum(lengths(p) for p in parts)
    # in Arrow's memory pool, which has the memory of the columns read before this at hand
    offsets_buf, data_buf = pa.allocate_buffer(8 * (rows + 1)), pa.allocate_buffer(total)
    offsets = np.frombuffer(offsets_buf, np.int64)
    offsets[0] = 0
    data = np.frombuffer(data_buf, np.uint8)
    at = 0
    for start in range(0, rows, BATCH_ROWS):
        stop = min(start + BATCH_ROWS, rows)
        columns = [
            pc.take(p[0], pa.array(p[1][start:stop]))
            if isinstance(p, tuple)
            else p.slice(start, stop - start)
            for p in parts
        ]
        joined = pc.binary_join_element_wise(*columns, pa.scalar("", pa.large_string()))
        _, joined_offsets, joined_data = joined.buffers()
        offs = np.frombuffer(joined_offsets, np.int64)
        offs = offs[joined.offset : joined.offset + len(joined) + 1]
        size = int(offs[-1] - offs[0])
        offsets[start + 1 : stop + 1] = at + offs[1:] - offs[0]
        if size:
            data[at : at + size] = np.frombuffer(joined_data, np.uint8)[offs[0] : offs[-1]]
        at += size
    return pa.LargeStringArray.from_buffers(rows, offsets_buf, data_buf, null_count=0)


def shown_value(value: object) -> str | None:
    """A cell as a rejection shows it: text, cut to VALUE_SHOWN characters."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    if len(text) > VALUE_SHOWN:
        return f"{text[:VALUE_SHOWN]}…({len(text)} characters)"
    return text


def missing_column_problem(source: str, missing: list[str]) -> FileProblem:
    shown = "; ".join(f"「{m}」" for m in missing[:5])
    more = f" (and {len(missing) - 5} more)" if len(missing) > 5 else ""
    return FileProblem(
        "missing_column",
        missing[0],
        f"{source}: the export lacks column {shown}{more} of its form; file rejected whole",
    )


def empty_row(values: Sequence[object]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)
