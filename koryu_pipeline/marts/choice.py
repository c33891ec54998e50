"""Counting answers into cells: n, bases, percentages and Wilson intervals.

One vectorised pass over all questions at once (a run is dominated by fixed costs, so no
per-question loops). Every choice type is counted alike: a single or multi/top-N question is
one "item" (item_id null), a likert question is one single-choice item per row of its grid.
Bases come from the exposures (routing), never from the answers, so a follow-up's base is who
was routed to it and answered, and options nobody chose keep their row with n = 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from koryu_pipeline.codebook import Entry, Form, wave_number
from koryu_pipeline.marts.intervals import wilson
from koryu_pipeline.marts.likert import scale_codes

NO_ITEM = ""  # join key for questions without items (item_id is null there)
CELL_KEYS = ["instrument", "wave", "question_id", "_item"]


def item_key(s: pd.Series) -> pd.Series:
    return s.astype(object).where(s.notna(), NO_ITEM).astype(str)


def _truthy(s: pd.Series) -> pd.Series:
    return s.fillna(False).astype(bool)


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
    answers: pd.DataFrame,
    exposures: pd.DataFrame,
    by: Sequence[str] = (),
) -> pd.DataFrame:
    """Fill the skeleton `cells` (from skeleton_rows, crossed with any `by` group columns)
    with n, base_n, shown_n, pct, ci_low, ci_high, pct_of_responses. `by` columns must be on
    `exposures` too (the respondent's group); answers need none."""
    by = list(by)
    keys = [*CELL_KEYS, *by]
    x = exposures.loc[_truthy(exposures["shown"])]
    x = x.assign(_item=item_key(x["item_id"]))
    took = x.loc[_truthy(x["answered"])]
    shown_n = x.groupby(keys, sort=False).size().rename("shown_n").reset_index()
    base_n = took.groupby(keys, sort=False).size().rename("base_n").reset_index()
    # Only answers of respondents routed to the question (and item) count.
    a = answers[["respondent_id", "instrument", "wave", "question_id", "item_id", "option_code"]]
    a = a.assign(_item=item_key(a["item_id"]), option_code=a["option_code"].astype("int64"))
    chosen = a.drop(columns="item_id").merge(
        took[["respondent_id", *keys]].drop_duplicates(),
        on=["respondent_id", *CELL_KEYS],
    )
    n = (
        chosen.drop_duplicates(["respondent_id", *keys, "option_code"])
        .groupby([*keys, "option_code"], sort=False)
        .size()
        .rename("n")
        .reset_index()
    )
    out = cells.assign(_item=item_key(cells["item_id"]), option_code=cells["option_code"])
    out["option_code"] = out["option_code"].astype("int64")
    out = (
        out.merge(n, on=[*keys, "option_code"], how="left")
        .merge(base_n, on=keys, how="left")
        .merge(shown_n, on=keys, how="left")
    )
    for col in ("n", "base_n", "shown_n"):
        out[col] = out[col].fillna(0).astype("int64")
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
