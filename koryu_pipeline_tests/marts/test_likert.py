"""Likert items: per-item bases, positive/negative and the don't-know variant."""

import pytest

from koryu_pipeline.marts.intervals import wilson
from koryu_pipeline.marts.likert import scale_codes
from koryu_pipeline_tests.marts.conftest import cell


def test_scale_codes(codebook) -> None:
    form = codebook.form("ministry", "2023")
    assert scale_codes(form.entry("q01")) == ([4, 5], [1, 2], [])
    assert scale_codes(form.entry("q03")) == ([4, 5], [1, 2], [6])
    hires = codebook.form("hires", "2023")
    assert scale_codes(hires.entry("satisfaction")) == ([4, 5], [1, 2], [])


def test_likert_without_dont_know(small_tables) -> None:
    q01 = small_tables["marts/questions/ministry/q01"]
    assert len(q01) == 6 * 5  # item x scale point
    item1 = q01.loc[q01["item_id"] == "q01_1"]
    assert item1["n"].tolist() == [0, 0, 0, 1, 2]
    assert set(item1["base_n"]) == {3}
    assert set(item1["positive_pct"]) == {100.0}
    assert set(item1["negative_pct"]) == {0.0}
    assert item1["positive_pct_excl_dk"].isna().all() and item1["dont_know_n"].isna().all()
    item4 = q01.loc[q01["item_id"] == "q01_4"]
    assert item4["positive_pct"].iloc[0] == pytest.approx(200 / 3)
    assert item4["negative_pct"].iloc[0] == pytest.approx(100 / 3)
    assert item4["positive_n"].iloc[0] == 2 and item4["negative_n"].iloc[0] == 1
    assert item4["item_label"].iloc[0] == "自組織の活性化を図るため"
    # Wilson 95% intervals on both shares, on every option row of the item
    for side, n in (("positive", 2), ("negative", 1)):
        low, high = wilson(n, 3)
        assert item4[f"{side}_ci_low"].tolist() == pytest.approx([100 * float(low)] * 5)
        assert item4[f"{side}_ci_high"].tolist() == pytest.approx([100 * float(high)] * 5)
    low, high = item4.iloc[0][["positive_ci_low", "positive_ci_high"]]
    assert low < item4["positive_pct"].iloc[0] < high
    # 3 of 3 positive: the interval still has width, below 100 only at its lower end
    assert item1["positive_ci_high"].iloc[0] == pytest.approx(100.0)
    assert 0 < item1["positive_ci_low"].iloc[0] < 100
    assert item1["negative_ci_low"].iloc[0] == pytest.approx(0.0)


def test_choice_questions_have_no_likert_intervals(small_tables) -> None:
    q04 = small_tables["marts/questions/ministry/q04"]
    for col in ("positive_ci_low", "positive_ci_high", "negative_ci_low", "negative_ci_high"):
        assert q04[col].isna().all(), col


def test_likert_item_left_blank(small_tables) -> None:
    """R1 left item 6 blank: shown 3, base 2 for that item only."""
    q01 = small_tables["marts/questions/ministry/q01"]
    item6 = cell(q01, 4, "q01_6")
    assert (item6["shown_n"], item6["base_n"]) == (3, 2)
    assert item6["pct"] == pytest.approx(50.0)
    assert item6["positive_pct"] == pytest.approx(100.0)


def test_likert_with_dont_know(small_tables) -> None:
    q03 = small_tables["marts/questions/ministry/q03"]
    assert len(q03) == 4 * 6
    item1 = cell(q03, 6, "q03_1")  # 分からない
    assert item1["n"] == 2 and item1["base_n"] == 3
    assert item1["positive_pct"] == pytest.approx(100 / 3)  # 1 of 3, DK in the base
    assert item1["positive_pct_excl_dk"] == pytest.approx(100.0)  # 1 of the 1 with a view
    assert item1["dont_know_n"] == 2
    item3 = cell(q03, 5, "q03_3")
    assert item3["positive_pct"] == pytest.approx(200 / 3)
    assert item3["positive_pct_excl_dk"] == pytest.approx(200 / 3)
    item4 = cell(q03, 1, "q03_4")
    assert item4["negative_pct"] == pytest.approx(200 / 3)
    assert item4["positive_pct_excl_dk"] == pytest.approx(100 / 3)
