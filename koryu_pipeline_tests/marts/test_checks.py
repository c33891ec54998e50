"""Mart checks pass on good marts and catch what they are meant to catch."""

from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.marts.breakdowns import breakdown_tables
from koryu_pipeline.marts.checks import (
    MART_CHECKS,
    check_base_le_shown,
    check_bases_match_facts,
    check_pct_range,
    check_single_choice_sums,
    figures_valid,
)
from koryu_pipeline.warehouse.tables import (
    EXPOSURES,
    QUESTION_RESULTS,
    mart_tables,
    table_registry,
)
from koryu_pipeline_tests.marts_fixtures import calibrated_facts, calibrated_marts


def test_every_declared_check_passes_on_calibrated_marts() -> None:
    cb = get_codebook()
    _, _, exposures = calibrated_facts(cb)
    tables = {key: frame for key, (frame, _) in calibrated_marts().items()}
    tables[EXPOSURES] = exposures
    ran = 0
    for spec in mart_tables(table_registry(cb)):
        for check in spec.checks:
            outcome = MART_CHECKS[check.name](cb, spec.key, tables)
            assert outcome.passed, (spec.key, check.name, outcome.metadata)
            ran += 1
    assert ran == 4 + 4  # question_results' four, one figures_valid per breakdown


def test_breakdown_figure_checks_fail_together() -> None:
    key = "marts/breakdowns/hires/age_band"
    frame = calibrated_marts()[key][0].copy()
    row = frame.index[frame["n"].notna()][0]
    frame.loc[row, "n"] = frame.loc[row, "base_n"] + 1  # breaks base_le_shown only
    outcome = figures_valid(get_codebook(), key, {key: frame})
    assert outcome.passed is False
    assert outcome.metadata["pct_range.bad_rows"] == 0
    assert outcome.metadata["base_le_shown.bad_rows"] == 1
    assert outcome.metadata["suppression_holds.bad_cells"] == 0


def test_a_lone_withheld_group_fails_the_breakdown_check(codebook, small_facts) -> None:
    key = "marts/breakdowns/ministry/org_type"
    frame = breakdown_tables(codebook, *small_facts, suppress_below=3)[key]
    assert figures_valid(codebook, key, {key: frame}).passed
    # q07: 行政執行法人 (base 2) is withheld, so 府省 is too; publish 府省 again and the
    # total less 府省 gives 行政執行法人 back
    again = (frame["question_id"] == "q07") & (frame["suppression"] == "secondary")
    assert again.sum() == 3  # its three options
    frame.loc[again, "suppressed"] = False
    outcome = figures_valid(codebook, key, {key: frame})
    assert not outcome.passed and outcome.metadata["suppression_holds.bad_cells"] == 1


def _results():
    return calibrated_marts()[QUESTION_RESULTS][0].copy()


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
