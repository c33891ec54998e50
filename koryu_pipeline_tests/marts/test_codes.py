"""The counts on integer codes equal the counts by definition, on facts with every oddity the
codes must survive: duplicated rows and ids, answers nobody was routed to, ids in one table
only, blank and missing items, a group code that collides with the total's, any row order,
categorical or plain string columns."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from koryu_pipeline.marts.breakdowns import TOTAL_CODE, breakdown_tables
from koryu_pipeline.marts.codes import cell_codes, code_facts, column_codes, layers
from koryu_pipeline.marts.questions import question_tables
from koryu_pipeline_tests.marts_fixtures import SMALL_MINISTRY, concat_facts, make_facts

Key = tuple[str, str, int, int]  # question_id, item ("" for none), group code, option code


def _item(value: Any) -> str:
    return "" if pd.isna(value) else str(value)


def by_definition(
    respondents: pd.DataFrame, answers: pd.DataFrame, exposures: pd.DataFrame, attribute: str
) -> tuple[Counter, Counter, Counter]:
    """(n, base_n, shown_n) of one ministry wave, row by row as the marts define them: an
    exposure counts once per membership row of its respondent (total, group); n counts the
    respondents choosing the option among those with a shown and answered exposure."""
    members: dict[str, list[int]] = {}
    for r in respondents.itertuples(index=False):
        groups = members.setdefault(str(r.respondent_id), [])
        groups.append(TOTAL_CODE)
        code = getattr(r, f"{attribute}_code")
        if pd.notna(code):
            groups.append(int(code))
    shown: Counter = Counter()
    base: Counter = Counter()
    took: set[tuple[str, str, str]] = set()
    for e in exposures.itertuples(index=False):
        if not e.shown:
            continue
        rid, cell = str(e.respondent_id), (str(e.question_id), _item(e.item_id))
        if e.answered:
            took.add((rid, *cell))
        for g in members.get(rid, []):
            shown[(*cell, g)] += 1
            base[(*cell, g)] += bool(e.answered)
    chosen = {
        (str(a.respondent_id), str(a.question_id), _item(a.item_id), g, int(a.option_code))
        for a in answers.itertuples(index=False)
        if (str(a.respondent_id), str(a.question_id), _item(a.item_id)) in took
        for g in members.get(str(a.respondent_id), [])
    }
    n = Counter((q, i, g, o) for _, q, i, g, o in chosen)
    return n, base, shown


def odd_facts(codebook) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    respondents, answers, exposures = make_facts(codebook, "ministry", "2023", SMALL_MINISTRY)
    ids = respondents["respondent_id"].tolist()
    # a respondent twice, once in the other group; one without an org type; one with code 0
    # (the total's code); one twice alike; one with no exposure at all
    twice = respondents.iloc[[0]].assign(org_type_code=2)
    alike = respondents.iloc[[1]]
    nobody = respondents.iloc[[2]].assign(respondent_id="ministry-2023-nobody")
    respondents = pd.concat([respondents, twice, alike, nobody], ignore_index=True)
    respondents.loc[respondents["respondent_id"] == ids[2], "org_type_code"] = None
    respondents.loc[respondents["respondent_id"] == ids[3], "org_type_code"] = 0
    # an exposure and an answer given twice; an answer to a question nobody routed the
    # respondent to; a respondent in the exposures and answers only
    shown_answered = exposures.loc[exposures["shown"] & exposures["answered"]]
    ghost = shown_answered.iloc[[0, 1]].assign(respondent_id="ministry-2023-ghost")
    exposures = pd.concat([exposures, shown_answered.iloc[[3]], ghost], ignore_index=True)
    not_routed = exposures.loc[~exposures["shown"]].iloc[0]
    stray = answers.iloc[[0]].assign(
        respondent_id=not_routed["respondent_id"],
        question_id=not_routed["question_id"],
        item_id=not_routed["item_id"],
    )
    ghost_answer = (
        answers.loc[
            (answers["question_id"] == ghost["question_id"].iloc[0])
            & (answers["item_id"].fillna("") == _item(ghost["item_id"].iloc[0]))
        ]
        .iloc[[0]]
        .assign(respondent_id="ministry-2023-ghost")
    )
    answers = pd.concat([answers, answers.iloc[[5, 9]], stray, ghost_answer], ignore_index=True)
    return respondents, answers, exposures


def as_categoricals(frame: pd.DataFrame) -> pd.DataFrame:
    """String columns as categoricals (categories of each frame its own, in another order)."""
    out = frame.copy()
    for c in out.columns:
        if pd.api.types.is_string_dtype(out[c]) and not pd.api.types.is_bool_dtype(out[c]):
            values = sorted(out[c].dropna().unique(), reverse=True)
            out[c] = pd.Categorical(out[c], categories=values)
    return out


def _published(frame: pd.DataFrame) -> dict[Key, tuple[int, int, int]]:
    return {
        (r.question_id, _item(r.item_id), int(r.group_code), int(r.option_code)): (
            int(r.n),
            int(r.base_n),
            int(r.shown_n),
        )
        for r in frame.itertuples(index=False)
    }


@pytest.mark.parametrize("variant", ["plain", "shuffled", "categorical"])
def test_counts_equal_the_definition(codebook, variant: str) -> None:
    respondents, answers, exposures = odd_facts(codebook)
    n, base, shown = by_definition(respondents, answers, exposures, "org_type")
    assert any(v > 1 for k, v in shown.items() if k[2] == TOTAL_CODE)  # the oddities count
    if variant == "shuffled":
        respondents, answers, exposures = (
            f.sample(frac=1, random_state=s).reset_index(drop=True)
            for s, f in enumerate((respondents, answers, exposures))
        )
    if variant == "categorical":
        respondents, answers, exposures = map(as_categoricals, (respondents, answers, exposures))
    frame = breakdown_tables(codebook, respondents, answers, exposures, 0)[
        "marts/breakdowns/ministry/org_type"
    ]
    published = _published(frame)
    assert len(published) == len(frame) > 100
    for (q, item, g, option), (got_n, got_base, got_shown) in published.items():
        assert got_n == n[(q, item, g, option)], (q, item, g, option)
        assert got_base == base[(q, item, g)], (q, item, g)
        assert got_shown == shown[(q, item, g)], (q, item, g)
    # the question tables are the total rows: everyone, once per exposure row
    everyone = respondents.assign(org_type_code=None).drop_duplicates("respondent_id")
    ghost = everyone.iloc[[0]].assign(respondent_id="ministry-2023-ghost")
    n, base, shown = by_definition(pd.concat([everyone, ghost]), answers, exposures, "org_type")
    for table in question_tables(codebook, answers, exposures).values():
        for r in table.itertuples(index=False):
            cell = (r.question_id, _item(r.item_id), TOTAL_CODE)
            assert (r.n, r.base_n, r.shown_n) == (
                n[(*cell, int(r.option_code))],
                base[cell],
                shown[cell],
            )


def test_two_waves_of_the_same_respondents_stay_apart(codebook) -> None:
    """A cell is (instrument, wave, question, item): the same ids in two waves are counted
    in their own wave only."""
    one = make_facts(codebook, "ministry", "2023", SMALL_MINISTRY)
    _, answers, exposures = concat_facts(one, one)
    answers.loc[len(one[1]) :, "wave"] = 2024
    exposures.loc[len(one[2]) :, "wave"] = 2024
    facts = code_facts(answers, exposures)
    assert set(facts.cells["wave"]) == {2023, 2024}
    counts = facts.count()
    assert counts.shown_n.sum() == exposures["shown"].sum()
    assert counts.n.sum() == 2 * code_facts(*one[1:]).count().n.sum()


def test_cell_codes_round_trip() -> None:
    frame = pd.DataFrame(
        {
            "a": pd.Categorical(["x", "y", None, "x", "y"]),
            "b": pd.array([2023, 2024, 2023, None, 2024], dtype="Int32"),
            "c": ["q1", "q2", "q1", "q1", None],
        }
    )
    codes, combos = cell_codes(frame, ["a", "b", "c"])
    back = combos.iloc[codes].reset_index(drop=True)
    for col in frame.columns:
        pd.testing.assert_series_equal(
            back[col].astype(object), frame[col].astype(object), check_names=False
        )
    assert len(combos) == len(set(map(tuple, frame.astype(object).fillna("-").values)))
    assert combos["b"].dtype == "Int32"  # the column's own type, for joins on it


def test_column_codes_of_a_sparse_integer_range_fall_back_to_hashing() -> None:
    s = pd.Series([1, 2**40, 1, None], dtype="Int64")
    codes, values = column_codes(s)
    assert codes[3] == -1 and codes[0] == codes[2] != codes[1]
    assert values[codes[1]] == 2**40


def test_layers_hold_each_respondent_once() -> None:
    # respondent 1 twice in the first part (a duplicated id), 0 and 2 once
    parts = [(np.array([0, 1, 1, 2]), np.array([0, 1, 2, 1])), (np.array([1]), np.array([3]))]
    found = layers(parts, 4)
    assert len(found) == 3
    assert sorted(int(layer[1]) for layer in found) == [1, 2, 3]
    assert [int(layer[0]) for layer in found].count(0) == 1
    assert all(int(layer[3]) == -1 for layer in found)


def test_arrow_string_columns_code_alike() -> None:
    """pandas' Arrow-backed strings (what read_partitions gives) are factorised as any."""
    s = pd.Series(pa.array(["b", "a", None, "b"]).to_pandas())
    codes, values = column_codes(s)
    assert list(values.take(codes[[0, 1, 3]])) == ["b", "a", "b"] and codes[2] == -1
