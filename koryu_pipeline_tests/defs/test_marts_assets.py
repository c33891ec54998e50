"""The marts step's check wiring: which tables carry which checks, and the merge of a
breakdown's figure checks (a failing half fails the whole)."""

from __future__ import annotations

from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.defs.marts_assets import _check_results, _check_specs


def test_breakdown_figure_checks_merge_and_fail_together() -> None:
    results = {
        "pct_range": (True, {"description": "d", "bad_rows": 0}),
        "single_choice_sums": (True, {"description": "d"}),
        "pct_range:marts/breakdowns/hires/age_band": (True, {"description": "d", "bad_rows": 0}),
        "base_le_shown:marts/breakdowns/hires/age_band": (
            False,
            {"description": "d", "bad_rows": 2},
        ),
    }
    merged = _check_results(results)
    assert merged[("marts/question_results", "pct_range")][0] is True
    passed, meta = merged[("marts/breakdowns/hires/age_band", "figures_valid")]
    assert passed is False
    assert meta == {"pct_range.bad_rows": 0, "base_le_shown.bad_rows": 2}


def test_every_breakdown_and_question_results_is_checked() -> None:
    specs = {(s.asset_key.to_user_string(), s.name) for s in _check_specs(get_codebook())}
    assert ("marts/question_results", "bases_match_facts") in specs
    assert ("marts/question_results", "single_choice_sums") in specs
    breakdowns = {k for k, name in specs if name == "figures_valid"}
    assert breakdowns == {
        "marts/breakdowns/ministry/org_type",
        "marts/breakdowns/hires/host_org_type",
        "marts/breakdowns/hires/age_band",
        "marts/breakdowns/hires/industry",
    }
