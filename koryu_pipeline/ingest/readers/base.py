"""What every reader returns, and the header matching they share.

A reader turns one export file into a *wide* frame: one row per data row of the file, the
columns `source_file`, `source_row` (the row number a spreadsheet shows, header = 1),
`submitted_at` (UTC), `response_key` (the response's identity across exports) and one column
per codebook field holding a normalised label, a tuple of labels (multi / top-N) or text.
Personal columns (メール, 名前) are never copied into it. A file that cannot be read, or lacks
a column of its form, comes back with `problem` set and no frame.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import permutations

import pandas as pd

from koryu_pipeline.codebook import Field, Form, normalise_text
from koryu_pipeline.ingest.readers.normalise import split_choices

META_COLUMNS = ("source_file", "source_row", "submitted_at", "response_key")


@dataclass(frozen=True)
class FileProblem:
    rule: str  # unreadable_file | missing_column | no_form
    column: str | None
    message: str


@dataclass
class ParsedExport:
    source_file: str
    rows: int
    frame: pd.DataFrame | None = None
    problem: FileProblem | None = None
    encoding: str | None = None


def unreadable(source_file: str, reason: str) -> ParsedExport:
    """A file rejected whole because it cannot be read as its export format."""
    return ParsedExport(
        source_file, 0, problem=FileProblem("unreadable_file", None, f"{source_file}: {reason}")
    )


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


def missing_column_problem(source: str, missing: list[str]) -> FileProblem:
    shown = "; ".join(f"「{m}」" for m in missing[:5])
    more = f" (and {len(missing) - 5} more)" if len(missing) > 5 else ""
    return FileProblem(
        "missing_column",
        missing[0],
        f"{source}: the export lacks column {shown}{more} of its form; file rejected whole",
    )


def empty_row(values: list[object]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)
