"""Check wiring: the registry's declared checks become asset check specs, and outcomes of the
plain check functions become asset check results (selection honoured, metadata typed)."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.defs.checks import asset_key, check_results, check_specs
from koryu_pipeline.warehouse.tables import CheckOutcome, table_registry


def test_every_breakdown_and_question_results_is_checked() -> None:
    specs = {
        (s.asset_key.to_user_string(), s.name): s
        for s in check_specs(table_registry(get_codebook()).values())
    }
    assert ("marts/question_results", "bases_match_facts") in specs
    assert ("marts/question_results", "single_choice_sums") in specs
    breakdowns = {k for k, name in specs if name == "figures_valid"}
    assert breakdowns == {
        "marts/breakdowns/ministry/org_type",
        "marts/breakdowns/hires/host_org_type",
        "marts/breakdowns/hires/age_band",
        "marts/breakdowns/hires/industry",
    }
    # the facts' checks block what reads them
    assert specs[("facts/respondents", "no_personal_data")].blocking
    assert specs[("quarantine/files", "row_conservation")].blocking
    pandera = {k for k, name in specs if name == "pandera_schema"}
    assert pandera == {
        "facts/respondents",
        "facts/answers",
        "facts/exposures",
        "quarantine/rejections",
        "quarantine/files",
    }


def test_outcomes_become_results_for_selected_checks_only() -> None:
    registry = table_registry(get_codebook())
    spec = registry["marts/question_results"]
    calls: list[str] = []

    def fake(name: str, passed: bool):
        def run(codebook, key, tables) -> CheckOutcome:
            calls.append(name)
            return CheckOutcome(passed, {"bad": [1, 2], "rows": len(tables[key])})

        return run

    functions = {c.name: fake(c.name, c.name != "pct_range") for c in spec.checks}
    selected = [dg.AssetCheckKey(asset_key(spec.key), "pct_range")]
    tables = {spec.key: pd.DataFrame({"x": [1, 2, 3]})}
    results = list(check_results(get_codebook(), [spec], tables, functions, selected))
    assert calls == ["pct_range"]
    (result,) = results
    assert result.check_name == "pct_range" and result.passed is False
    assert result.metadata["rows"].value == 3
    assert result.metadata["bad"] == dg.MetadataValue.json([1, 2])
    assert result.description == spec.checks[0].description
