"""Single, multi, top-3 and routed follow-up questions, hand-tabulated from SMALL_MINISTRY."""

import pytest

from koryu_pipeline.marts.intervals import wilson
from koryu_pipeline_tests.marts.conftest import cell


def test_single_choice(small_tables) -> None:
    q07 = small_tables["marts/questions/ministry/q07"]
    assert q07["option_code"].tolist() == [1, 2, 3]
    assert q07["n"].tolist() == [2, 2, 1]
    assert set(q07["base_n"]) == {5} and set(q07["shown_n"]) == {5}
    assert q07["pct"].tolist() == pytest.approx([40.0, 40.0, 20.0])
    assert q07["pct_of_responses"].tolist() == pytest.approx([40.0, 40.0, 20.0])
    assert q07["positive_pct"].isna().all() and q07["item_id"].isna().all()
    assert not q07["suppressed"].any()


def test_single_with_a_blank(small_tables) -> None:
    q08 = small_tables["marts/questions/ministry/q08_age"]
    assert q08["n"].tolist() == [1, 2, 1, 0]  # 50代以上: nobody, still a row
    assert set(q08["base_n"]) == {4} and set(q08["shown_n"]) == {5}
    assert q08["pct"].tolist() == pytest.approx([25.0, 50.0, 25.0, 0.0])


def test_wilson_columns_in_percent(small_tables) -> None:
    row = cell(small_tables["marts/questions/ministry/q08_age"], 2)
    low, high = wilson(2, 4)
    assert row["ci_low"] == pytest.approx(100 * float(low))
    assert row["ci_high"] == pytest.approx(100 * float(high))
    zero = cell(small_tables["marts/questions/ministry/q08_age"], 4)
    assert zero["ci_low"] == 0.0 and 0 < zero["ci_high"] < 100


def test_multi_percent_of_cases_and_of_responses(small_tables) -> None:
    q06 = small_tables["marts/questions/ministry/q06"]
    assert len(q06) == 7  # every option
    assert set(q06["base_n"]) == {3} and set(q06["shown_n"]) == {3}
    by_code = q06.set_index("option_code")
    assert by_code.loc[[1, 2, 7], "n"].tolist() == [2, 2, 1]
    assert by_code.loc[[1, 2, 7], "pct"].tolist() == pytest.approx([200 / 3, 200 / 3, 100 / 3])
    # five choices in all
    assert by_code.loc[[1, 2, 7], "pct_of_responses"].tolist() == pytest.approx([40, 40, 20])
    assert by_code.loc[[3, 4, 5, 6], "n"].tolist() == [0, 0, 0, 0]


def test_multi_exclusive_options(small_tables) -> None:
    q04 = small_tables["marts/questions/ministry/q04"]
    assert cell(q04, 1)["n"] == 2 and cell(q04, 5)["n"] == 1
    assert cell(q04, 1)["pct"] == pytest.approx(200 / 3)


def test_top3(small_tables) -> None:
    q17 = small_tables["marts/questions/ministry/q17_traits"]
    assert set(q17["base_n"]) == {3} and set(q17["shown_n"]) == {5}
    assert cell(q17, 1)["n"] == 3 and cell(q17, 1)["pct"] == pytest.approx(100.0)
    assert cell(q17, 1)["pct_of_responses"] == pytest.approx(50.0)  # 3 of 6 choices
    assert cell(q17, 2)["n"] == 1 and cell(q17, 2)["pct"] == pytest.approx(100 / 3)
    assert q17["question_type"].unique().tolist() == ["top3"]


def test_routed_follow_up_base(small_tables) -> None:
    """q07_reasons: routed to R1, R3, R4 (shown 3); R4 left it blank (base 2). R2 was not
    routed, so its stray answer does not count."""
    reasons = small_tables["marts/questions/ministry/q07_reasons"]
    assert set(reasons["shown_n"]) == {3} and set(reasons["base_n"]) == {2}
    assert cell(reasons, 1)["n"] == 2 and cell(reasons, 1)["pct"] == pytest.approx(100.0)
    assert cell(reasons, 6)["n"] == 1 and cell(reasons, 6)["pct"] == pytest.approx(50.0)
    assert cell(reasons, 1)["pct_of_responses"] == pytest.approx(200 / 3)


def test_unrouted_question_has_zero_bases(small_tables) -> None:
    q09 = small_tables["marts/questions/ministry/q09"]
    # s_hire はい for R1, R3, R4 but nobody answered q09
    assert set(q09["shown_n"]) == {3} and set(q09["base_n"]) == {0}
    assert q09["pct"].isna().all() and q09["ci_low"].isna().all()
    assert (q09["n"] == 0).all()
