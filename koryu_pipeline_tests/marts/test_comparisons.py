"""Comparisons: support_gap (crosswalk), dispatch_vs_hiring (mirrors), waves."""

from pathlib import Path

import pandas as pd
import pytest

from koryu_pipeline.codebook import get_codebook, load_codebook
from koryu_pipeline.marts import comparisons as compare
from koryu_pipeline.marts.intervals import newcombe
from koryu_pipeline.marts.questions import question_results, question_tables
from koryu_pipeline.warehouse import tables
from koryu_pipeline_tests.marts_fixtures import (
    PROACTIVE,
    SMALL_MINISTRY,
    calibrated_marts,
    concat_facts,
    make_facts,
)


def test_support_gap() -> None:
    gap = calibrated_marts()[tables.SUPPORT_GAP][0]
    assert list(gap.columns) == tables.SUPPORT_GAP_SCHEMA.names
    assert len(gap) == 11  # the crosswalk's pairs; 特になし has no counterpart
    assert "特になし" not in set(gap["hires_option_label"])
    culture = gap.loc[gap["hires_option_code"] == 1].iloc[0]
    assert culture["ministry_option_label"] == "府省特有の文化やルールに関する説明"
    assert (culture["hires_n"], culture["hires_base_n"]) == (330, 552)
    assert (culture["ministry_n"], culture["ministry_base_n"]) == (22, 34)
    assert culture["hires_pct"] == pytest.approx(100 * 330 / 552)
    assert culture["ministry_pct"] == pytest.approx(100 * 22 / 34)
    d, lo, hi = newcombe(330, 552, 22, 34)
    assert culture["gap_pct_points"] == pytest.approx(100 * float(d))
    assert culture["gap_ci_low"] == pytest.approx(100 * float(lo))
    assert culture["gap_ci_high"] == pytest.approx(100 * float(hi))
    assert culture["gap_ci_low"] < culture["gap_pct_points"] < culture["gap_ci_high"]
    ranks = gap.set_index("hires_option_code")["hires_rank"]
    # n: 330, 185, 172, 166, 160, ... -> codes 1, 2, 4, 8, 7
    assert [ranks[c] for c in (1, 2, 4, 8, 7)] == [1, 2, 3, 4, 5]
    assert gap["wave"].unique().tolist() == [2023]


def test_dispatch_vs_hiring_pairs_by_meaning() -> None:
    """One row per pair the codebook's mirrors list, whatever the labels say."""
    cb = get_codebook()
    table = calibrated_marts()[tables.DISPATCH_VS_HIRING][0]
    assert list(table.columns) == tables.DISPATCH_VS_HIRING_SCHEMA.names
    mirrors = cb.form("ministry", "2023").mirrors
    assert len(table) == sum(len(m.pairs) for m in mirrors)
    assert table["dispatch_pct"].notna().all() and table["hiring_pct"].notna().all()
    intent = table.loc[table["dispatch_question_id"] == "q07"]
    assert list(zip(intent["dispatch_label"], intent["hiring_label"], strict=True)) == [
        ("更なる交流派遣に積極的である", "更なる交流採用に積極的である"),
        ("どちらともいえない", "どちらともいえない"),
        (
            "更なる交流派遣には消極的である（交流派遣を縮小したい）",
            "更なる交流採用には消極的である（交流採用を縮小したい）",
        ),
    ]
    keen = intent.iloc[0]
    assert (
        keen["dispatch_n"],
        keen["dispatch_base_n"],
        keen["hiring_n"],
        keen["hiring_base_n"],
    ) == (
        15,
        49,
        24,
        49,
    )
    assert keen["label"] == keen["dispatch_label"]  # the published column keeps its meaning
    d, lo, hi = newcombe(15, 49, 24, 49)
    assert (keen["diff_pct_points"], keen["diff_ci_low"], keen["diff_ci_high"]) == pytest.approx(
        (100 * float(d), 100 * float(lo), 100 * float(hi))
    )
    # asked of every organisation on both sides: same base, no routing note
    assert not intent["bases_differ_by_routing"].any()
    assert intent["dispatch_routing"].isna().all() and intent["hiring_routing"].isna().all()


def test_dispatch_vs_hiring_says_when_routing_makes_the_bases_differ() -> None:
    table = calibrated_marts()[tables.DISPATCH_VS_HIRING][0]
    likert = table.loc[table["dispatch_question_id"] == "q01"].iloc[0]
    assert likert["measure"] == "positive_pct"
    assert (likert["dispatch_item_id"], likert["hiring_item_id"]) == ("q01_1", "q09_3")
    assert (likert["dispatch_n"], likert["dispatch_base_n"]) == (15, 16)
    assert (likert["hiring_n"], likert["hiring_base_n"]) == (30, 34)
    assert (likert["dispatch_shown_n"], likert["hiring_shown_n"]) == (16, 34)
    assert likert["bases_differ_by_routing"]
    assert (likert["dispatch_routing"], likert["hiring_routing"]) == (
        "s_dispatch = はい",
        "s_hire = はい",
    )
    # the follow-ups: each asked of those who were not keen on its own system
    reasons = table.loc[table["dispatch_question_id"] == "q07_reasons"]
    assert reasons["hiring_question_id"].unique().tolist() == ["q16_reasons"]
    assert len(reasons) == 6 and reasons["bases_differ_by_routing"].all()
    assert set(reasons["dispatch_base_n"]) == {34} and set(reasons["hiring_base_n"]) == {25}
    capacity = reasons.iloc[0]
    assert (capacity["dispatch_label"], capacity["hiring_label"]) == (
        "職員の人員不足で交流派遣をする余裕がない",
        "交流採用者を受け入れる体制が整っていない",
    )
    assert capacity["dispatch_routing"].startswith("q07 = どちらともいえない | ")
    age = table.loc[(table["dispatch_question_id"] == "q08_age") & (table["label"] == "30代")]
    row = age.iloc[0]
    assert row["measure"] == "pct" and not row["bases_differ_by_routing"]
    assert (row["dispatch_n"], row["dispatch_base_n"], row["hiring_n"]) == (24, 49, 22)
    assert row["diff_pct_points"] == pytest.approx(100 * (24 - 22) / 49)
    assert table["pair_sort"].is_monotonic_increasing


def _two_wave_codebook(tmp_path: Path):
    (tmp_path / "ministry_2024.yaml").write_text(
        'extends: ministry_2023\nwave: "2024"\n', encoding="utf-8"
    )
    return load_codebook(tmp_path)


def test_waves_single_wave_is_empty_with_schema() -> None:
    marts = calibrated_marts()
    table = marts[tables.WAVES][0]
    assert table.empty and list(table.columns) == tables.WAVES_SCHEMA.names
    # ... and says why, in its metadata and in the dictionary: by design, not a failure
    note = compare.waves_note(marts[tables.QUESTION_RESULTS][0], table)
    assert note.startswith("No rows, by design")
    assert "hires 2023; ministry 2023" in note and "second wave" in note
    dictionary = marts[tables.DATA_DICTIONARY][0]
    waves = dictionary.loc[dictionary["table_name"] == tables.WAVES]
    assert waves["table_description"].str.contains("single wave").all()
    assert (
        "empty while the warehouse holds one wave"
        in waves.set_index("column_name").loc["wave", "description_en"]
    )


def test_waves_two_waves(tmp_path: Path) -> None:
    cb = _two_wave_codebook(tmp_path)
    later = [{**r, "q07": PROACTIVE} for r in SMALL_MINISTRY]  # everyone proactive in 2024
    _, answers, exposures = concat_facts(
        make_facts(cb, "ministry", "2023", SMALL_MINISTRY),
        make_facts(cb, "ministry", "2024", later),
    )
    results = question_results(question_tables(cb, answers, exposures))
    table = compare.waves(results)
    assert list(table.columns) == tables.WAVES_SCHEMA.names
    assert set(table["wave"]) == {2024} and set(table["previous_wave"]) == {2023}
    # every 2024 cell has its 2023 counterpart
    assert len(table) == (results["wave"] == 2024).sum()
    q07 = table.loc[table["question_id"] == "q07"].set_index("option_code")
    assert (q07.loc[1, "n"], q07.loc[1, "base_n"], q07.loc[1, "previous_n"]) == (5, 5, 2)
    assert q07.loc[1, "pct"] == 100.0 and q07.loc[1, "previous_pct"] == pytest.approx(40.0)
    _, lo, hi = newcombe(5, 5, 2, 5)
    assert q07.loc[1, "diff_pct_points"] == pytest.approx(60.0)
    assert compare.waves_note(results, table) == (
        "Compares ministry 2024 with 2023 (waves: ministry 2023, 2024)."
    )
    assert (q07.loc[1, "diff_ci_low"], q07.loc[1, "diff_ci_high"]) == pytest.approx(
        (100 * float(lo), 100 * float(hi))
    )
    assert q07.loc[2, "diff_pct_points"] == pytest.approx(-40.0)
    # likert cells pair by item label too
    q01 = table.loc[table["question_id"] == "q01"]
    assert q01["item_label"].notna().all() and len(q01) == 30
    # unchanged answers: no difference
    assert (q01["diff_pct_points"].fillna(0) == 0).all()


def test_comparisons_empty_without_data() -> None:
    cb = get_codebook()
    empty = question_results({})
    built = compare.comparison_tables(cb, empty)
    assert set(built) == {tables.SUPPORT_GAP, tables.DISPATCH_VS_HIRING, tables.WAVES}
    for key, schema in tables.schemas(tables.table_registry(cb), built).items():
        assert built[key].empty and list(built[key].columns) == schema.names


def test_demo_warehouse_compares_every_intent_pair(demo_warehouse: Path) -> None:
    """`koryu run` on the demo: every mirrored pair of q07<->q16 (and of their follow-ups)
    has a row with both shares."""
    table = pd.read_parquet(
        demo_warehouse / "marts" / "comparisons" / "dispatch_vs_hiring" / "part-0.parquet"
    )
    mirrors = {m.questions: m for m in get_codebook().form("ministry", "2023").mirrors}
    for questions in (("q07", "q16"), ("q07_reasons", "q16_reasons")):
        rows = table.loc[table["dispatch_question_id"] == questions[0]]
        assert len(rows) == len(mirrors[questions].pairs)
        assert rows["dispatch_pct"].notna().all() and rows["hiring_pct"].notna().all()
        assert rows["diff_ci_low"].le(rows["diff_pct_points"]).all()
    intent = table.loc[table["dispatch_question_id"] == "q07"].set_index("row_sort")
    assert (intent.loc[1, "dispatch_n"], intent.loc[1, "hiring_n"]) == (15, 24)
    assert set(intent["dispatch_base_n"]) == set(intent["hiring_base_n"]) == {49}
    reasons = table.loc[table["dispatch_question_id"] == "q07_reasons"]
    assert set(reasons["dispatch_base_n"]) == {34} and set(reasons["hiring_base_n"]) == {25}
    assert reasons["bases_differ_by_routing"].all()
