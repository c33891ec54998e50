"""Routing and "answered" asked of columns: the vectorised masks (one question per distinct
cell, taken back by code) agree with the per-cell definitions, on frames the readers give
for real exports and on the odd cells a frame can hold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from koryu_pipeline.codebook import normalise_text
from koryu_pipeline.codebook.routing import (
    Routing,
    _chose_any,
    answered,
    answered_mask,
    distinct,
    routed_mask,
    take_by_code,
    value_mask,
)
from koryu_pipeline.ingest.readers.msforms_xlsx import read_msforms_xlsx
from koryu_pipeline_tests.exports import toy_form, write_msforms_xlsx

ODD_COLUMNS = {
    "labels with NaN": pd.Series(["はい", None, "いいえ", "はい", ""], dtype="str"),
    "objects with None": pd.Series(["はい", None, "", "はい"], dtype=object),
    "tuples": pd.Series([("ア", "イ"), None, (), ("ア", "イ"), ("エ",)], dtype=object),
    "all missing": pd.Series([None, None], dtype=object),
    "float NaN": pd.Series([np.nan, "はい"], dtype=object),
    "empty": pd.Series([], dtype="str"),
}


def _per_cell_routed(form, entry, wide: pd.DataFrame) -> list[bool]:
    """The routing rule cell by cell: every asked_if condition holds, and so do the
    parents' (transitively)."""

    def shown(e, i: int) -> bool:
        for dep, values in e.asked_if:
            keys = frozenset(normalise_text(v) for v in values)
            if not _chose_any(wide[dep].iloc[i], keys):
                return False
            parent = form.entry_by_id[dep]
            if parent.asked_if and not shown(parent, i):
                return False
        return True

    return [shown(entry, i) for i in range(len(wide))]


@pytest.mark.parametrize("name", list(ODD_COLUMNS))
def test_answered_mask_is_answered_of_each_cell(name):
    values = ODD_COLUMNS[name]
    got = answered_mask(values)
    assert got.dtype == bool
    assert got.tolist() == [answered(v) for v in values]


def _missing(value: object) -> bool:
    return value is None or (not isinstance(value, tuple) and bool(pd.isna(value)))


def _rule(value: object) -> bool:
    return (isinstance(value, tuple) and "ア" in value) or value == "はい"


@pytest.mark.parametrize("name", list(ODD_COLUMNS))
def test_value_mask_asks_each_distinct_value_once(name):
    values = ODD_COLUMNS[name]
    asked: list[object] = []

    def test(value: object) -> bool:
        asked.append(value)
        return _rule(value)

    got = value_mask(values, test, missing=True)
    assert got.tolist() == [True if _missing(v) else _rule(v) for v in values]
    present = [v for v in values if not _missing(v)]
    assert asked == list(dict.fromkeys(present))  # each distinct value once, none missing


def test_distinct_codes_and_take_back():
    values = pd.Series([("a", "b"), None, ("a", "b"), ("c",)], dtype=object)
    codes, uniques = distinct(values)
    assert codes.tolist() == [0, -1, 0, 1] and uniques == [("a", "b"), ("c",)]
    out = take_by_code(codes, np.array([10, 20]), -1)
    assert out.tolist() == [10, -1, 10, 20]


def test_routing_masks_agree_with_the_rule_cell_by_cell(tmp_path):
    """The toy form's chain screen -> q1 -> q1_why (checkbox) -> q1_cost and a routed likert
    grid, on every combination of answers along the chain, stale answers included."""
    toy = toy_form(tmp_path / "forms")
    rows = []
    for screen in ("はい", "いいえ", None):
        for q1 in ("良い", "悪い", None):
            for why in (["費用"], ["時間"], ["時間", "費用"], None):
                rows.append(
                    {
                        "org_name": f"{screen}{q1}{why}",
                        "screen": screen,
                        "q1": q1,
                        "q1_why": why,
                        "q1_cost": "高い",
                        "q3": ["ア"],
                    }
                )
    path = write_msforms_xlsx(tmp_path / "toy.xlsx", rows, toy)
    wide = read_msforms_xlsx(path.read_bytes(), "toy/2023/toy.xlsx", toy).frame
    assert wide is not None and len(wide) == len(rows)
    wide = wide.set_axis(pd.RangeIndex(100, 100 + len(wide)))  # masks keep the frame's index
    routing = Routing(toy, wide)
    for entry in toy.entries:
        expected = _per_cell_routed(toy, entry, wide)
        assert routing.shown(entry).tolist() == expected, entry.id
        series = routed_mask(toy, entry, wide)
        assert series.index.equals(wide.index) and series.dtype == bool
        assert series.tolist() == expected
    # each condition's column is factorised once, each entry's mask computed once
    assert routing.shown(toy.entry("q1_cost")) is routing.shown(toy.entry("q1_cost"))
    assert set(routing._columns) == {"screen", "q1", "q1_why"}
    # the chain: a stale q1_cost answer behind an unshown q1 is not shown
    cost = dict(zip(wide["org_name"], routing.shown(toy.entry("q1_cost")).tolist(), strict=True))
    assert cost["いいえ悪い['費用']"] is False and cost["はい悪い['費用']"] is True
