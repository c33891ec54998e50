"""Validated wide responses -> the long fact tables of warehouse.md.

The wide frame (see validation) has one row per accepted response and one column per
codebook field: a normalised label (single, likert item), a tuple of labels (multi, top-N),
or text. Here it becomes:

- `facts/respondents`: one row per response, with the form's respondent attributes;
- `facts/answers`: one row per respondent x question x item x chosen option;
- `facts/exposures`: one row per respondent x question x item saying whether the routing
  showed it (`shown`) and whether it was answered (`answered`) -- the bases of every mart.

The tables' columns are the registry's (warehouse/tables.py).

Built on integer codes, not per cell: each answer column is factorised, each distinct cell
turned once into its option codes (`answer_cells`, once for both tables, so the answers can
be let go of before the exposures are built), and the answers laid out with numpy (a cell's
k options repeat its row k times). Every text column is taken from a small lookup of the
values it can hold, so the frames come out as if built row by row: same rows, order, dtypes,
values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from koryu_pipeline.codebook import Codebook, Entry, Form, wave_number
from koryu_pipeline.codebook.routing import Routing, answered, distinct, take_by_code
from koryu_pipeline.warehouse.tables import (
    ANSWERS_SCHEMA,
    EXPOSURES_SCHEMA,
    RESPONDENTS,
    attribute_entries,
    table_registry,
)


def _present(keys: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct keys among `keys` (each in 0..size-1), ascending, and each key's
    position among them."""
    present = np.flatnonzero(np.bincount(keys, minlength=size))
    position = np.zeros(size, dtype=np.int64)
    position[present] = np.arange(len(present))
    return present, position[keys]


def _lookup(
    values: list[object], keys: np.ndarray, present: tuple[np.ndarray, np.ndarray] | None = None
) -> pd.Series:
    """`values[k]` for each k in `keys`, with the dtype pandas infers for exactly those
    values as a list (a str column; float64 for ints with None; object when all None): the
    dtype is inferred from the distinct values taken, then the small column is taken by
    key. `present`: `_present(keys, len(values))`, when known."""
    distinct_keys, at = present if present is not None else _present(keys, len(values))
    small = pd.Series([values[k] for k in distinct_keys.tolist()])
    return pd.Series(small.array.take(at))


def _codes(entry: Entry, labels: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Normalised labels -> (verbatim label, code) Series."""
    by_key = entry.option_by_key
    if labels.empty:
        verbatim = labels.map(lambda v: by_key[v].label if isinstance(v, str) else None)
        codes = labels.map(lambda v: by_key[v].code if isinstance(v, str) else None)
        return verbatim, codes
    cell, uniques = distinct(labels)
    verbatim_of = [by_key[v].label if isinstance(v, str) else None for v in uniques] + [None]
    code_of = [by_key[v].code if isinstance(v, str) else None for v in uniques] + [None]
    cell = np.where(cell < 0, len(uniques), cell)
    return (
        _lookup(verbatim_of, cell).set_axis(labels.index),
        _lookup(code_of, cell).set_axis(labels.index),
    )


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
    out = out[schema.names]
    if out["respondent_id"].is_monotonic_increasing:  # as validation gives it: in order
        return out.reset_index(drop=True)
    return out.sort_values("respondent_id", kind="stable").reset_index(drop=True)


class _Target:
    """One answer column of a question (the question's, or one likert item's)."""

    def __init__(self, qsort: int, entry: Entry, column: str, label: str | None, sort: int | None):
        self.qsort, self.entry, self.column = qsort, entry, column
        self.item_id = column if entry.items else None
        self.item_label, self.item_sort = label, sort


def _targets(form: Form) -> list[_Target]:
    out: list[_Target] = []
    for qsort, entry in enumerate(form.entries, start=1):
        if entry.is_attribute:
            continue
        if entry.items:
            out.extend(_Target(qsort, entry, i.item_id, i.label, i.sort) for i in entry.items)
        else:
            out.append(_Target(qsort, entry, entry.id, None, None))
    return out


def _rank(values: list[object]) -> np.ndarray:
    """Each value's rank in sorted order, None first (0), as pandas sorts na_position first."""
    distinct_sorted = sorted({v for v in values if v is not None})
    pos = {v: n + 1 for n, v in enumerate(distinct_sorted)}
    return np.array([0 if v is None else pos[v] for v in values], dtype=np.int64)


def _order(parts: list[tuple[np.ndarray, int]]) -> np.ndarray | None:
    """The stable order of rows by several integer keys (most significant first, each below
    its bound), or None when they are in order already."""
    key = np.zeros(len(parts[0][0]), dtype=np.int64)
    bound = 1
    for values, size in parts:
        bound *= size
        key *= size  # in place: millions of rows, no temporaries
        key += values
    if bound >= 2**62:  # too wide for one int64: sort on the keys themselves
        return np.lexsort([v for v, _ in reversed(parts)])
    if len(key) < 2 or bool((key[1:] >= key[:-1]).all()):
        return None
    return np.argsort(key, kind="stable")


def _id_ranks(ids: pd.Series) -> tuple[np.ndarray, int]:
    """Each respondent id's rank in sorted order (a missing id first: 0), and the bound."""
    if len(ids) > 1 and isinstance(ids.dtype, pd.StringDtype) and not ids.hasnans:
        # as validation gives them, in order: the rank counts the changes of id
        text = pa.array(ids.array)
        if pc.all(pc.less_equal(text[:-1], text[1:])).as_py():
            change = pc.not_equal(text[1:], text[:-1]).to_numpy(zero_copy_only=False)
            rank = np.concatenate([[1], 1 + np.cumsum(change)]).astype(np.int64)
            return rank, int(rank[-1]) + 1
    codes, uniques = pd.factorize(ids, sort=True)
    return np.asarray(codes, dtype=np.int64) + 1, len(uniques) + 1


@dataclass
class AnswerCells:
    """What the answers and the exposures are both built from: per respondent and target,
    shown and answered, and the cell's options as (start, count) into `flat` (a cell's
    options in code order: the answers are sorted by option within a cell anyway)."""

    targets: list[_Target]
    ids: pd.Series
    rank: np.ndarray
    rank_bound: int
    shown: np.ndarray  # (n, t) bool
    took: np.ndarray  # (n, t) bool
    start: np.ndarray  # (n, t) int64
    count: np.ndarray  # (n, t) int64
    flat: np.ndarray


def answer_cells(form: Form, wide: pd.DataFrame) -> AnswerCells:
    """The cells of `wide` (the accepted responses) that `build_answers` and
    `build_exposures` take: built once, so that each table can be built, used and let go
    of in turn without the wide frame."""
    targets = _targets(form)
    n, t = len(wide), len(targets)
    routing = Routing(form, wide)
    ids = wide["respondent_id"]
    if not isinstance(ids.dtype, pd.StringDtype):  # as a list of ids would infer it
        ids = pd.Series(ids.tolist(), dtype=None if n else object)
    rank, rank_bound = _id_ranks(ids)

    shown = np.empty((n, t), dtype=bool)
    took = np.empty((n, t), dtype=bool)
    start = np.zeros((n, t), dtype=np.int64)
    count = np.zeros((n, t), dtype=np.int64)
    flat: list[int] = []
    for j, tg in enumerate(targets):
        shown[:, j] = routing.shown(tg.entry)
        cell, uniques = distinct(wide[tg.column])
        took_u = np.fromiter((answered(u) for u in uniques), dtype=bool, count=len(uniques))
        took[:, j] = take_by_code(cell, took_u, answered(None))
        starts_u = np.zeros(len(uniques), dtype=np.int64)
        counts_u = np.zeros(len(uniques), dtype=np.int64)
        for k, u in enumerate(uniques):
            if not took_u[k]:
                continue
            labels = u if isinstance(u, tuple) else (u,)
            codes = sorted(tg.entry.option_by_key[label].code for label in labels)
            starts_u[k], counts_u[k] = len(flat), len(codes)
            flat.extend(codes)
        start[:, j] = take_by_code(cell, starts_u, 0)
        count[:, j] = take_by_code(cell, counts_u, 0)
    return AnswerCells(
        targets, ids, rank, rank_bound, shown, took, start, count, np.asarray(flat, np.int64)
    )


def build_answers(form: Form, cells: AnswerCells) -> pd.DataFrame:
    """`facts/answers`: one row per option of each cell, respondent by respondent, target
    by target; a cell's k-th answer row takes the option at its start + k."""
    t = len(cells.targets)
    counts = cells.count.ravel()
    which = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    at = np.repeat(cells.start.ravel() - (np.cumsum(counts) - counts), counts)
    at += np.arange(len(at), dtype=np.int64)
    option = cells.flat[at]
    del at, counts
    row, target = np.divmod(which, t) if t else (which, which)
    del which
    return _answers(
        form, cells.targets, cells.ids, cells.rank, cells.rank_bound, row, target, option
    )


def build_exposures(form: Form, cells: AnswerCells) -> pd.DataFrame:
    """`facts/exposures`: one row per respondent and target."""
    n, t = cells.shown.shape
    row, target = np.divmod(np.arange(n * t, dtype=np.int64), t) if t else (None, None)
    return _exposures(
        form,
        cells.targets,
        cells.ids,
        cells.rank,
        cells.rank_bound,
        row,
        target,
        cells.shown,
        cells.took,
    )


def build_answers_and_exposures(
    form: Form, wide: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    cells = answer_cells(form, wide)
    return build_answers(form, cells), build_exposures(form, cells)


def _answers(
    form: Form,
    targets: list[_Target],
    ids: pd.Series,
    rank: np.ndarray,
    rank_bound: int,
    row: np.ndarray,
    target: np.ndarray,
    option: np.ndarray,
) -> pd.DataFrame:
    columns = [c for c in ANSWERS_SCHEMA.names if c not in ("instrument", "wave")]
    if len(row) == 0:
        a = pd.DataFrame([], columns=columns)
    else:
        # the option's verbatim label: per (target, code), from a lookup of the pairs taken
        n_codes = int(option.max()) + 1
        label_of = [
            next((o.label for o in tg.entry.options if o.code == code), None)
            for tg in targets
            for code in range(n_codes)
        ]
        option_label = _lookup(label_of, target * n_codes + option)
        by_target = _present(target, len(targets))
        a = pd.DataFrame(
            {
                "respondent_id": pd.Series(ids.array.take(row)),
                "question_id": _lookup([tg.entry.id for tg in targets], target, by_target),
                "question_sort": _lookup([tg.qsort for tg in targets], target, by_target),
                "item_id": _lookup([tg.item_id for tg in targets], target, by_target),
                "item_label": _lookup([tg.item_label for tg in targets], target, by_target),
                "item_sort": _lookup([tg.item_sort for tg in targets], target, by_target),
                "option_code": option,
                "option_label": option_label,
                "option_sort": option.copy(),  # its own array: the frame takes them as they are
            },
            columns=columns,
            copy=False,  # the columns are new: no second copy of millions of rows
        )
        # respondent, question, item (none first), option: as sort_values would order them
        item_rank = _rank([tg.item_sort for tg in targets])
        order = _order(
            [
                (rank[row], rank_bound),
                (
                    np.array([tg.qsort for tg in targets], dtype=np.int64)[target],
                    len(form.entries) + 1,
                ),
                (item_rank[target], int(item_rank.max()) + 1),
                (option, n_codes),
            ]
        )
        if order is not None:
            a = a.take(order)
    a.insert(1, "instrument", form.instrument)
    a.insert(2, "wave", wave_number(form.wave))
    return a.reset_index(drop=True)[ANSWERS_SCHEMA.names]


def _exposures(
    form: Form,
    targets: list[_Target],
    ids: pd.Series,
    rank: np.ndarray,
    rank_bound: int,
    row: np.ndarray | None,
    target: np.ndarray | None,
    shown: np.ndarray,
    took: np.ndarray,
) -> pd.DataFrame:
    columns = [c for c in EXPOSURES_SCHEMA.names if c not in ("instrument", "wave")]
    if row is None or len(row) == 0:
        x = pd.DataFrame([], columns=columns)
    else:
        assert target is not None
        by_target = _present(target, len(targets))
        x = pd.DataFrame(
            {
                "respondent_id": pd.Series(ids.array.take(row)),
                "question_id": _lookup([tg.entry.id for tg in targets], target, by_target),
                "item_id": _lookup([tg.item_id for tg in targets], target, by_target),
                "shown": shown.ravel(),
                "answered": took.ravel(),
            },
            columns=columns,
        )
        # respondent, question (form order), item id (as text, none first)
        q_of = {e.id: n for n, e in enumerate(form.entries)}
        item_rank = _rank([tg.item_id for tg in targets])
        order = _order(
            [
                (rank[row], rank_bound),
                (
                    np.array([q_of[tg.entry.id] for tg in targets], dtype=np.int64)[target],
                    len(form.entries),
                ),
                (item_rank[target], int(item_rank.max()) + 1),
            ]
        )
        if order is not None:
            x = x.take(order)
    x.insert(1, "instrument", form.instrument)
    x.insert(2, "wave", wave_number(form.wave))
    return x.reset_index(drop=True)[EXPOSURES_SCHEMA.names]
