"""Breakdowns by respondent attribute and small-cell suppression."""

import pandas as pd
import pytest

from koryu_pipeline.marts.breakdowns import breakdown_tables
from koryu_pipeline.marts.suppress import suppress
from koryu_pipeline.warehouse.tables import BREAKDOWN_SCHEMA, breakdown_attributes
from koryu_pipeline_tests.marts_fixtures import calibrated_facts


def test_attributes_exclude_routing_questions(codebook) -> None:
    assert breakdown_attributes(codebook, "ministry") == ["org_type"]
    assert breakdown_attributes(codebook, "hires") == ["host_org_type", "age_band", "industry"]


def test_breakdown_and_suppression(codebook, small_facts) -> None:
    respondents, answers, exposures = small_facts
    tables = breakdown_tables(codebook, respondents, answers, exposures, suppress_below=3)
    assert set(tables) == {
        "marts/breakdowns/ministry/org_type",
        "marts/breakdowns/hires/host_org_type",
        "marts/breakdowns/hires/age_band",
        "marts/breakdowns/hires/industry",
    }
    frame = tables["marts/breakdowns/ministry/org_type"]
    assert list(frame.columns) == BREAKDOWN_SCHEMA.names
    q07 = frame.loc[frame["question_id"] == "q07"].set_index(["group_label", "option_code"])
    # 府省: R1, R3, R4 -> base 3, shown; 行政執行法人: R2, R5 -> base 2 < 3, withheld
    ministries = q07.loc["府省"]
    assert ministries["n"].tolist() == [0, 2, 1]
    assert ministries["pct"].tolist() == pytest.approx([0, 200 / 3, 100 / 3])
    assert not ministries["suppressed"].any()
    agencies = q07.loc["行政執行法人"]
    assert agencies["suppressed"].all()
    assert agencies["base_n"].tolist() == [2, 2, 2]  # the base stays: it says why
    for col in ("n", "pct", "ci_low", "ci_high", "pct_of_responses"):
        assert agencies[col].isna().all(), col
    # likert summaries are withheld too
    q01 = frame.loc[(frame["question_id"] == "q01") & (frame["group_label"] == "行政執行法人")]
    assert q01["suppressed"].all() and q01["positive_pct"].isna().all()
    q01_m = frame.loc[(frame["question_id"] == "q01") & (frame["group_label"] == "府省")]
    # 府省 dispatchers are R1 and R4 only: base 2 -> suppressed as well
    assert q01_m["suppressed"].all()


def test_unsuppressed_breakdown_adds_up_to_the_question(codebook, small_facts, small_tables):
    respondents, answers, exposures = small_facts
    frame = breakdown_tables(codebook, respondents, answers, exposures, suppress_below=0)[
        "marts/breakdowns/ministry/org_type"
    ]
    frame = frame.assign(item_id=frame["item_id"].fillna(""))
    summed = frame.groupby(["question_id", "item_id", "option_code"])[
        ["n", "base_n", "shown_n"]
    ].sum()
    for key, table in small_tables.items():
        if not key.startswith("marts/questions/ministry/"):
            continue
        for row in table.itertuples():
            item = row.item_id if isinstance(row.item_id, str) else ""
            got = summed.loc[(row.question_id, item, row.option_code)]
            assert (got["n"], got["base_n"], got["shown_n"]) == (row.n, row.base_n, row.shown_n)


def test_suppress_marks_and_withholds() -> None:
    frame = pd.DataFrame(
        {"n": [1, 4], "base_n": [2, 10], "pct": [50.0, 40.0], "suppressed": [False, False]}
    )
    out = suppress(frame, below=5)
    assert out["suppressed"].tolist() == [True, False]
    assert out["n"].isna().tolist() == [True, False]
    assert out["pct"].isna().tolist() == [True, False]
    assert out["base_n"].tolist() == [2, 10]
    assert not frame["suppressed"].any()  # input untouched


def test_every_attribute_counts_every_answer(codebook) -> None:
    """A respondent is in one group of each attribute: the hires' second and third
    attributes (age_band, industry) count the same answers as the first."""
    respondents, answers, exposures = calibrated_facts(codebook)
    tables = breakdown_tables(codebook, respondents, answers, exposures, suppress_below=0)
    chosen = answers.loc[answers["instrument"] == "hires"].groupby("question_id").size()
    for attribute in breakdown_attributes(codebook, "hires"):
        frame = tables[f"marts/breakdowns/hires/{attribute}"]
        counted = frame.groupby("question_id")["n"].sum()
        assert {q: n for q, n in counted.items() if n} == chosen.to_dict(), attribute
