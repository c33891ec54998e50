"""Validated wide responses -> the long fact tables of warehouse.md.

The wide frame (see validation) has one row per accepted response and one column per
codebook field: a normalised label (single, likert item), a tuple of labels (multi, top-N),
or text. Here it becomes:

- `facts/respondents`: one row per response, with the form's respondent attributes;
- `facts/answers`: one row per respondent x question x item x chosen option;
- `facts/exposures`: one row per respondent x question x item saying whether the routing
  showed it (`shown`) and whether it was answered (`answered`) -- the bases of every mart.

All schemas are generated from the codebook.
"""

from __future__ import annotations

from functools import cache

import pandas as pd
import pyarrow as pa

from koryu_pipeline.codebook import Codebook, Entry, Form, get_codebook, normalise_text

UTC_US = pa.timestamp("us", tz="UTC")

ANSWERS_SCHEMA = pa.schema(
    [
        ("respondent_id", pa.string()),
        ("instrument", pa.string()),
        ("wave", pa.string()),
        ("question_id", pa.string()),
        ("question_sort", pa.int16()),
        ("item_id", pa.string()),
        ("item_label", pa.string()),
        ("item_sort", pa.int16()),
        ("option_code", pa.int16()),
        ("option_label", pa.string()),
        ("option_sort", pa.int16()),
    ]
)

EXPOSURES_SCHEMA = pa.schema(
    [
        ("respondent_id", pa.string()),
        ("instrument", pa.string()),
        ("wave", pa.string()),
        ("question_id", pa.string()),
        ("item_id", pa.string()),
        ("shown", pa.bool_()),
        ("answered", pa.bool_()),
    ]
)

REJECTIONS_SCHEMA = pa.schema(
    [
        ("instrument", pa.string()),
        ("wave", pa.string()),
        ("source_file", pa.string()),
        ("source_row", pa.int32()),
        ("rule", pa.string()),
        ("column", pa.string()),
        ("value", pa.string()),
        ("message", pa.string()),
    ]
)

# Per raw file: what came in and where it went (row conservation, asset metadata, logs).
FILE_SUMMARY_SCHEMA = pa.schema(
    [
        ("instrument", pa.string()),
        ("wave", pa.string()),
        ("source_file", pa.string()),
        ("rows", pa.int32()),
        ("accepted", pa.int32()),
        ("rejected", pa.int32()),
        ("file_rejected", pa.bool_()),
    ]
)


def wide_schema(form: Form, validated: bool) -> pa.Schema:
    """The staging tables: the readers' wide frame (`staging/parsed`, every row of every
    readable export) and the accepted responses (`staging/validated`, with respondent_id).
    One column per codebook field: a label (string), or the chosen labels (list<string>)."""
    fields: list[tuple[str, pa.DataType]] = [
        ("instrument", pa.string()),
        ("wave", pa.string()),
    ]
    if validated:
        fields.append(("respondent_id", pa.string()))
    fields += [
        ("source_file", pa.string()),
        ("source_row", pa.int32()),
        ("submitted_at", UTC_US),
        ("response_key", pa.string()),
    ]
    for f in form.fields:
        fields.append((f.column, pa.list_(pa.string()) if f.entry.is_multi else pa.string()))
    return pa.schema(fields)


def attribute_entries(codebook: Codebook) -> list[Entry]:
    """Respondent attributes over all forms, first appearance order, one per id."""
    seen: dict[str, Entry] = {}
    for form in sorted(codebook.forms, key=lambda f: (f.instrument, f.wave)):
        for e in form.attributes:
            seen.setdefault(e.id, e)
    return list(seen.values())


@cache
def respondents_schema(codebook: Codebook | None = None) -> pa.Schema:
    cb = codebook or get_codebook()
    fields: list[tuple[str, pa.DataType]] = [
        ("respondent_id", pa.string()),
        ("instrument", pa.string()),
        ("wave", pa.string()),
        ("submitted_at", UTC_US),
    ]
    for e in attribute_entries(cb):
        fields.append((e.id, pa.string()))
        if e.is_choice:
            fields.append((f"{e.id}_code", pa.int16()))
    fields += [("source_file", pa.string()), ("source_row", pa.int32())]
    return pa.schema(fields)


def _codes(entry: Entry, labels: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Normalised labels -> (verbatim label, code) Series."""
    by_key = entry.option_by_key
    verbatim = labels.map(lambda v: by_key[v].label if isinstance(v, str) else None)
    codes = labels.map(lambda v: by_key[v].code if isinstance(v, str) else None)
    return verbatim, codes


def build_respondents(form: Form, wide: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    schema = respondents_schema(codebook)
    out = pd.DataFrame(
        {
            "respondent_id": wide["respondent_id"],
            "instrument": form.instrument,
            "wave": form.wave,
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


def _routed(entry: Entry, wide: pd.DataFrame) -> pd.Series:
    """Whether each respondent was shown `entry` (all asked_if conditions hold)."""
    mask = pd.Series(True, index=wide.index)
    for dep, values in entry.asked_if:
        keys = frozenset(normalise_text(v) for v in values)
        mask &= wide[dep].map(lambda v, k=keys: _chose_any(v, k)).astype(bool)
    return mask


def _chose_any(value: object, keys: frozenset[str]) -> bool:
    """A single answer among `keys`, or (routing on a checkbox question) any of its
    chosen labels among them."""
    if isinstance(value, str):
        return value in keys
    if isinstance(value, tuple):
        return not keys.isdisjoint(value)
    return False


def routed_mask(form: Form, entry: Entry, wide: pd.DataFrame) -> pd.Series:
    """Routing is transitive: a follow-up of an unshown question is not shown either."""
    mask = _routed(entry, wide)
    for dep, _ in entry.asked_if:
        parent = form.entry_by_id[dep]
        if parent.asked_if:
            mask &= routed_mask(form, parent, wide)
    return mask


def answered(value: object) -> bool:
    """A wide-frame cell holds an answer: a non-empty label or a non-empty choice tuple."""
    if isinstance(value, tuple):
        return len(value) > 0
    return isinstance(value, str) and value != ""


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
        frame.insert(2, "wave", form.wave)
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
