"""facts.py builds the answers and exposures on integer codes; the frames are the ones the
tables are defined by, row by row: `by_rows` below is that definition (one row per
respondent x question x item x chosen option, then sorted). Compared on the demo's exports
and on frames that stress the layout: ids out of order or repeated, object columns, nothing
answered, nothing at all."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from koryu_pipeline.codebook import Form, get_codebook, wave_number
from koryu_pipeline.codebook.routing import answered, routed_mask
from koryu_pipeline.demo.assembly import write_demo_exports
from koryu_pipeline.ingest.facts import build_answers_and_exposures, build_respondents
from koryu_pipeline.ingest.readers import export_files, read_export
from koryu_pipeline.ingest.readers.msforms_xlsx import read_msforms_xlsx
from koryu_pipeline.ingest.validation import validate_wave
from koryu_pipeline.warehouse.tables import ANSWERS_SCHEMA, EXPOSURES_SCHEMA
from koryu_pipeline_tests.exports import toy_form, write_msforms_xlsx


def by_rows(form: Form, wide: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The answers and exposures of `wide`, one Python dict per row."""
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
                for label in value if isinstance(value, tuple) else (value,):
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


def _same(form: Form, wide: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    a, x = build_answers_and_exposures(form, wide)
    ea, ex = by_rows(form, wide)
    pd.testing.assert_frame_equal(a, ea, check_exact=True)
    pd.testing.assert_frame_equal(x, ex, check_exact=True)
    return a, x


@pytest.fixture(scope="module")
def demo_accepted(tmp_path_factory) -> dict[str, pd.DataFrame]:
    raw = tmp_path_factory.mktemp("demo") / "raw"
    write_demo_exports(raw)
    cb = get_codebook()
    out = {}
    for instrument in ("hires", "ministry"):
        parsed = [
            read_export(p, raw, cb, instrument, "2023")
            for p in export_files(raw, instrument, "2023")
        ]
        out[instrument] = validate_wave(cb.form(instrument, "2023"), parsed).accepted
    return out


@pytest.mark.parametrize("instrument", ["hires", "ministry"])
def test_demo_facts_are_the_row_by_row_ones(demo_accepted, instrument):
    form = get_codebook().form(instrument, "2023")
    wide = demo_accepted[instrument]
    a, x = _same(form, wide)
    assert len(a) > len(wide) and len(x) == len(wide) * sum(
        1 for f in form.fields if not f.entry.is_attribute
    )


@pytest.mark.parametrize("instrument", ["hires", "ministry"])
def test_ids_out_of_order_and_repeated(demo_accepted, instrument):
    form = get_codebook().form(instrument, "2023")
    wide = demo_accepted[instrument]
    shuffled = wide.sample(frac=1.0, random_state=7)  # the index goes along, unsorted
    _same(form, shuffled)
    # one id twice (two rows of the same respondent): the rows keep the frame's order
    twice = pd.concat([wide.iloc[:5], wide.iloc[[2]].assign(q07=None)], ignore_index=False)
    _same(form, twice.iloc[::-1])


def test_respondents_in_any_order(demo_accepted):
    cb = get_codebook()
    form = cb.form("ministry", "2023")
    wide = demo_accepted["ministry"]
    in_order = build_respondents(form, wide, cb)
    shuffled = build_respondents(form, wide.sample(frac=1.0, random_state=3), cb)
    pd.testing.assert_frame_equal(in_order, shuffled, check_exact=True)
    assert in_order["respondent_id"].is_monotonic_increasing


def test_object_columns_and_nothing_answered(tmp_path):
    """A frame built from dicts (as the mart fixtures build theirs): object columns of None,
    a likert grid nobody answered, then no rows at all."""
    toy = toy_form(tmp_path / "forms")
    rows = [
        {"respondent_id": "t-2", "org_name": "甲", "screen": "いいえ", "q1": None,
         "q1_why": None, "q1_cost": None, "q2_1": None, "q2_2": None, "q3": ("ア",)},
        {"respondent_id": "t-1", "org_name": "乙", "screen": "はい", "q1": "悪い",
         "q1_why": ("費用", "時間"), "q1_cost": "高い", "q2_1": None, "q2_2": None,
         "q3": ("エ", "イ")},
    ]  # fmt: skip
    wide = pd.DataFrame(rows)
    assert wide["q2_1"].dtype == object
    a, _ = _same(toy, wide)
    assert a["item_id"].isna().all()  # no likert answers: an all-missing item column
    _same(toy, wide.iloc[:0])
    nothing = wide.assign(q3=None)
    nothing.loc[1, ["q1", "q1_why", "q1_cost"]] = None
    a, x = _same(toy, nothing)
    assert a.empty and not x.empty


def test_cells_routed_on_a_checkbox(tmp_path):
    toy = toy_form(tmp_path / "forms")
    rows = [
        {"org_name": "甲", "screen": "はい", "q1": "悪い", "q1_why": ["費用"], "q1_cost": "高い"},
        {"org_name": "乙", "screen": "はい", "q1": "悪い", "q1_why": ["時間"], "q2_2": "そう思う"},
        {"org_name": "丙", "screen": "いいえ", "q3": ["エ", "イ", "ア"]},
    ]
    path = write_msforms_xlsx(tmp_path / "toy.xlsx", rows, toy)
    parsed = read_msforms_xlsx(path.read_bytes(), "toy/2023/toy.xlsx", toy)
    accepted = validate_wave(toy, [parsed]).accepted
    assert len(accepted) == 3
    _same(toy, accepted)
    _same(toy, accepted.iloc[::-1])


def test_unknown_labels_are_refused_as_before(tmp_path: Path):
    toy = toy_form(tmp_path / "forms")
    wide = pd.DataFrame(
        [{"respondent_id": "t", "org_name": "甲", "screen": "はい", "q1": "最高", "q3": None}]
    ).reindex(columns=["respondent_id", *(f.column for f in toy.fields)])
    with pytest.raises(KeyError):
        build_answers_and_exposures(toy, wide)
