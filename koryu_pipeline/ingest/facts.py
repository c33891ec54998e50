"""Validated wide responses -> the long fact tables of warehouse.md.

The wide frame (see validation) has one row per accepted response and one column per
codebook field: a normalised label (single, likert item), a tuple of labels (multi, top-N),
or text. Here it becomes:

- `facts/respondents`: one row per response, with the form's respondent attributes;
- `facts/answers`: one row per respondent x question x item x chosen option;
- `facts/exposures`: one row per respondent x question x item saying whether the routing
  showed it (`shown`) and whether it was answered (`answered`) -- the bases of every mart.

The tables' columns are the registry's (warehouse/tables.py).
"""

from __future__ import annotations

import pandas as pd

from koryu_pipeline.codebook import Codebook, Entry, Form, wave_number
from koryu_pipeline.codebook.routing import answered, routed_mask
from koryu_pipeline.warehouse.tables import (
    ANSWERS_SCHEMA,
    EXPOSURES_SCHEMA,
    RESPONDENTS,
    attribute_entries,
    table_registry,
)


def _codes(entry: Entry, labels: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Normalised labels -> (verbatim label, code) Series."""
    by_key = entry.option_by_key
    verbatim = labels.map(lambda v: by_key[v].label if isinstance(v, str) else None)
    codes = labels.map(lambda v: by_key[v].code if isinstance(v, str) else None)
    return verbatim, codes


def build_respondents(form: Form, wide: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    schema = table_registry(codebook)[RESPONDENTS].schema
    out = pd.DataFrame(
        {
            "respondent_id": wide["respondent_id"],
            "instrument": form.instrument,
            "wave": wave_number(form.wave),
            "submitted_at": wide["submitted_at"],
            "source_file": wide["source_file"],
            "source_row": wide["source_row"],
        },
        index=wide.index,
    )
    for e in attribute_entries(codebook):
        mine = form.entry_by_id.get(e.id)
        if mine is None or e.id not in wide.columns:
            out[e.id] = None
            if e.is_choice:
                out[f"{e.id}_code"] = None
            continue
        if mine.is_choice:
            out[e.id], out[f"{e.id}_code"] = _codes(mine, wide[e.id])
        else:
            out[e.id] = wide[e.id]
    return out[schema.names].sort_values("respondent_id", kind="stable").reset_index(drop=True)


def build_answers_and_exposures(
    form: Form, wide: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    answers: list[dict[str, object]] = []
    exposures: list[dict[str, object]] = []
    ids = wide["respondent_id"].tolist()
    for qsort, entry in enumerate(form.entries, start=1):
        if entry.is_attribute:
            continue
        shown = routed_mask(form, entry, wide).tolist()
        targets = (
            [(i.item_id, i.label, i.sort) for i in entry.items]
            if entry.items
            else [(entry.id, None, None)]
        )
        for column, item_label, item_sort in targets:
            item_id = column if entry.items else None
            for rid, was_shown, value in zip(ids, shown, wide[column].tolist(), strict=True):
                took = answered(value)
                exposures.append(
                    {
                        "respondent_id": rid,
                        "question_id": entry.id,
                        "item_id": item_id,
                        "shown": bool(was_shown),
                        "answered": took,
                    }
                )
                if not took:
                    continue
                labels = value if isinstance(value, tuple) else (value,)
                for label in labels:
                    opt = entry.option_by_key[label]
                    answers.append(
                        {
                            "respondent_id": rid,
                            "question_id": entry.id,
                            "question_sort": qsort,
                            "item_id": item_id,
                            "item_label": item_label,
                            "item_sort": item_sort,
                            "option_code": opt.code,
                            "option_label": opt.label,
                            "option_sort": opt.code,
                        }
                    )
    a = pd.DataFrame(
        answers, columns=[c for c in ANSWERS_SCHEMA.names if c not in ("instrument", "wave")]
    )
    x = pd.DataFrame(
        exposures, columns=[c for c in EXPOSURES_SCHEMA.names if c not in ("instrument", "wave")]
    )
    for frame in (a, x):
        frame.insert(1, "instrument", form.instrument)
        frame.insert(2, "wave", wave_number(form.wave))
    a = a.sort_values(
        ["respondent_id", "question_sort", "item_sort", "option_sort"],
        kind="stable",
        na_position="first",
    ).reset_index(drop=True)
    order = {e.id: n for n, e in enumerate(form.entries)}
    x = (
        x.assign(_q=x["question_id"].map(order))
        .sort_values(["respondent_id", "_q", "item_id"], kind="stable", na_position="first")
        .drop(columns="_q")
        .reset_index(drop=True)
    )
    return a[ANSWERS_SCHEMA.names], x[EXPOSURES_SCHEMA.names]
