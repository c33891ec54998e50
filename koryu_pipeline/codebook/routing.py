"""Routing and "answered", as the codebook defines them: which respondents a question was
shown to, and whether a wide-frame cell holds an answer. Validation (not_routed) and the
exposures (the marts' bases) both ask these questions, so they are answered once, here.

The questions are asked of values (`answered`, `_chose_any`) but answered for columns: a
column of a million responses holds a few hundred distinct cells, so each column is
factorised (`pd.factorize`), the question asked once per distinct value, and the answers
taken back to the rows by code (`value_mask`). `Routing` keeps one frame's factorised
columns and masks, so a form's many routed questions share their conditions' work.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from koryu_pipeline.codebook.model import Entry, Form, normalise_text


def distinct(values: pd.Series) -> tuple[np.ndarray, list[object]]:
    """(codes, distinct values) of a wide-frame column: code -1 for a missing cell (None,
    NaN), else the position of the cell's value in the list. Tuples (multi-choice cells)
    are hashed whole, so equal tuples share a code."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.intp), list(uniques)


def take_by_code(codes: np.ndarray, per_value: np.ndarray, missing: object) -> np.ndarray:
    """`per_value[code]` for every row, `missing` where the code is -1."""
    # the missing cell's answer goes last, where code -1 picks it
    return np.append(per_value, np.asarray([missing], dtype=per_value.dtype))[codes]


def value_mask(
    values: pd.Series, test: Callable[[object], bool], missing: bool = False
) -> np.ndarray:
    """`test` of every cell of a column, asked once per distinct value; `missing` for a
    missing cell."""
    codes, uniques = distinct(values)
    per_value = np.fromiter((bool(test(u)) for u in uniques), dtype=bool, count=len(uniques))
    return take_by_code(codes, per_value, missing)


def _chose_any(value: object, keys: frozenset[str]) -> bool:
    """A single answer among `keys`, or (routing on a checkbox question) any of its
    chosen labels among them."""
    if isinstance(value, str):
        return value in keys
    if isinstance(value, tuple):
        return not keys.isdisjoint(value)
    return False


def answered(value: object) -> bool:
    """A wide-frame cell holds an answer: a non-empty label or a non-empty choice tuple."""
    if isinstance(value, tuple):
        return len(value) > 0
    return isinstance(value, str) and value != ""


def answered_mask(values: pd.Series) -> np.ndarray:
    """`answered` of every cell of a wide-frame column (a numpy bool array)."""
    return value_mask(values, answered, answered(None))


class Routing:
    """Who was shown each entry of `form`, over one wide frame: each condition's column
    factorised once, each entry's mask computed once. Valid while the frame is unchanged."""

    def __init__(self, form: Form, wide: pd.DataFrame) -> None:
        self.form = form
        self.wide = wide
        self._columns: dict[str, tuple[np.ndarray, list[object]]] = {}
        self._shown: dict[str, np.ndarray] = {}

    def _condition(self, dep: str, values: tuple[str, ...]) -> np.ndarray:
        if dep not in self._columns:
            self._columns[dep] = distinct(self.wide[dep])
        codes, uniques = self._columns[dep]
        keys = frozenset(normalise_text(v) for v in values)
        per_value = np.fromiter(
            (_chose_any(u, keys) for u in uniques), dtype=bool, count=len(uniques)
        )
        return take_by_code(codes, per_value, False)

    def shown(self, entry: Entry) -> np.ndarray:
        """Whether each respondent was shown `entry`: all its asked_if conditions hold, and
        (routing is transitive) a follow-up of an unshown question is not shown either."""
        if entry.id not in self._shown:
            mask = np.ones(len(self.wide), dtype=bool)
            for dep, values in entry.asked_if:
                mask &= self._condition(dep, values)
            for dep, _ in entry.asked_if:
                parent = self.form.entry_by_id[dep]
                if parent.asked_if:
                    mask &= self.shown(parent)
            self._shown[entry.id] = mask
        return self._shown[entry.id]


def routed_mask(form: Form, entry: Entry, wide: pd.DataFrame) -> pd.Series:
    """Whether each respondent of `wide` was shown `entry` (see `Routing.shown`)."""
    return pd.Series(Routing(form, wide).shown(entry), index=wide.index)


def routing_conditions(form: Form, entry: Entry) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Every asked_if condition that decides whether `entry` is shown, its parents' first
    (routing is transitive); empty when every respondent is asked."""
    out: list[tuple[str, tuple[str, ...]]] = []
    for dep, values in entry.asked_if:
        for cond in routing_conditions(form, form.entry_by_id[dep]):
            if cond not in out:
                out.append(cond)
        out.append((dep, tuple(values)))
    return tuple(out)


def routing_text(form: Form, entry: Entry) -> str | None:
    """Who is asked `entry`, in words: "s_dispatch = はい", "q07 = A | B"; None for all."""
    conds = routing_conditions(form, entry)
    return "; ".join(f"{dep} = {' | '.join(values)}" for dep, values in conds) or None
