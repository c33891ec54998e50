"""Counting answers into cells: n, bases, percentages and Wilson intervals.

One vectorised pass over all questions at once (a run is dominated by fixed costs, so no
per-question loops). Every choice type is counted alike: a single or multi/top-N question is
one "item" (item_id null), a likert question is one single-choice item per row of its grid.
Bases come from the exposures (routing), never from the answers, so a follow-up's base is who
was routed to it and answered, and options nobody chose keep their row with n = 0. The
counts themselves are taken from the facts coded once (marts/codes.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from koryu_pipeline.codebook import Entry, Form, wave_number
from koryu_pipeline.marts.codes import CELL_KEYS, NO_ITEM, Counts, item_key
from koryu_pipeline.marts.intervals import wilson
from koryu_pipeline.marts.likert import scale_codes

__all__ = ["CELL_KEYS", "NO_ITEM", "count_cells", "item_key", "skeleton_rows"]


def skeleton_rows(form: Form, qsort: int, entry: Entry) -> list[dict[str, object]]:
    """Every cell of one question of one wave, with what the tables say about it."""
    positive, negative, dont_know = scale_codes(entry) if entry.type == "likert" else ([], [], [])
    items = [(i.item_id, i.label, i.sort) for i in entry.items] or [(None, None, None)]
    return [
        {
            "instrument": form.instrument,
            "wave": wave_number(form.wave),
            "question_id": entry.id,
            "item_id": item_id,
            "item_label": label,
            "item_sort": sort,
            "option_code": o.code,
            "option_label": o.label,
            "option_sort": o.code,
            "question_type": entry.type,
            "question_sort": qsort,
            "slide": entry.slide,
            "title": entry.title or entry.header,
            "_likert": entry.type == "likert",
            "_has_dk": bool(dont_know),
            "_pos": o.code in positive,
            "_neg": o.code in negative,
            "_dk": o.code in dont_know,
        }
        for item_id, label, sort in items
        for o in entry.options
    ]


def count_cells(
    cells: pd.DataFrame,
    counts: Counts | Mapping[str, Counts],
    by: Sequence[str] = (),
) -> pd.DataFrame:
    """Fill the skeleton `cells` (from skeleton_rows, crossed with any `by` group columns)
    with n, base_n, shown_n, pct, ci_low, ci_high, pct_of_responses. `counts`: over
    everyone, or per attribute (then `by` is ("attribute", "group_code"), on the cells)."""
    keys = [*CELL_KEYS, *by]
    out = cells.assign(_item=item_key(cells["item_id"]), option_code=cells["option_code"])
    out = out.reset_index(drop=True)
    out["option_code"] = out["option_code"].astype("int64")
    if isinstance(counts, Counts):
        n, base_n, shown_n = counts.at(out)
    else:
        n, base_n, shown_n = (np.zeros(len(out), np.int64) for _ in range(3))
        attribute = out["attribute"].to_numpy()
        for name, of in counts.items():
            rows = np.flatnonzero(attribute == name)
            part = out.iloc[rows]
            n[rows], base_n[rows], shown_n[rows] = of.at(part, part["group_code"])
    out["n"], out["base_n"], out["shown_n"] = n, base_n, shown_n
    total = out.groupby(keys, sort=False)["n"].transform("sum")
    base = out["base_n"].to_numpy(dtype=float)
    count = out["n"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["pct"] = np.where(base > 0, 100.0 * count / base, np.nan)
        out["pct_of_responses"] = np.where(total > 0, 100.0 * count / total, np.nan)
    low, high = wilson(count, base)
    out["ci_low"] = 100.0 * low
    out["ci_high"] = 100.0 * high
    return out
