"""Mart checks pass on good marts and catch what they are meant to catch."""

from koryu_pipeline.mart_checks import (
    check_base_le_shown,
    check_bases_match_facts,
    check_pct_range,
    check_single_choice_sums,
    run_mart_checks,
)
from koryu_pipeline.marts import QUESTION_RESULTS_KEY
from koryu_pipeline_tests.marts_fixtures import calibrated_facts, calibrated_marts


def test_all_pass_on_calibrated_marts() -> None:
    from koryu_pipeline.codebook import get_codebook

    _, _, exposures = calibrated_facts(get_codebook())
    results = run_mart_checks(calibrated_marts(), exposures)
    failed = {k: meta for k, (ok, meta) in results.items() if not ok}
    assert not failed
    assert all("description" in meta for _, meta in results.values())


def _results():
    return calibrated_marts()[QUESTION_RESULTS_KEY][0].copy()


def test_pct_out_of_range() -> None:
    frame = _results()
    frame.loc[0, "pct"] = 100.5
    ok, meta = check_pct_range(frame)
    assert not ok and meta["bad_rows"] == 1 and meta["examples"]


def test_single_choice_sum() -> None:
    frame = _results()
    i = frame.index[frame["question_id"] == "q07"][0]
    frame.loc[i, "n"] = frame.loc[i, "n"] + 1
    ok, meta = check_single_choice_sums(frame)
    assert not ok and meta["bad_cells"] == 1


def test_base_above_shown() -> None:
    frame = _results()
    frame.loc[3, "base_n"] = frame.loc[3, "shown_n"] + 1
    assert not check_base_le_shown(frame)[0]


def test_bases_recounted_from_exposures() -> None:
    from koryu_pipeline.codebook import get_codebook

    _, _, exposures = calibrated_facts(get_codebook())
    frame = _results()
    assert check_bases_match_facts(frame, exposures)[0]
    # a lost exposure row: the mart no longer matches the facts
    ok, meta = check_bases_match_facts(frame, exposures.iloc[1:])
    assert not ok and meta["bad_cells"] >= 1
