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

import pandas as pd

from koryu_pipeline.codebook import Field, Form, normalise_text
from koryu_pipeline.readers.normalise import split_choices

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


def match_headers(
    form: Form, headers: list[str], header_of: dict[str, str]
) -> tuple[dict[str, int], list[Field]]:
    """Map each codebook field to a column index by header text after normalisation.
    A header that heads several fields (the same likert item text under two questions)
    is resolved by order of appearance. Returns (column -> index, fields not found)."""
    wanted: dict[str, list[Field]] = defaultdict(list)
    for f in form.fields:
        wanted[normalise_text(header_of[f.column])].append(f)
    taken: dict[str, int] = defaultdict(int)
    positions: dict[str, int] = {}
    for idx, raw in enumerate(headers):
        key = normalise_text(raw or "")
        queue = wanted.get(key)
        if not queue or taken[key] >= len(queue):
            continue  # a column the form does not define (personal data, extras): dropped
        positions[queue[taken[key]].column] = idx
        taken[key] += 1
    missing = [f for f in form.fields if f.column not in positions]
    return positions, missing


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
