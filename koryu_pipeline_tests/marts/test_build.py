"""The façade: keys known without data, every table typed as its schema."""

from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.marts.build import build_marts
from koryu_pipeline.settings import Settings
from koryu_pipeline.warehouse.frames import to_table
from koryu_pipeline.warehouse.parquet import parquet_bytes
from koryu_pipeline.warehouse.tables import mart_tables, question_table_keys, table_registry
from koryu_pipeline_tests.marts_fixtures import calibrated_facts, calibrated_marts


def test_keys() -> None:
    cb = get_codebook()
    keys = [s.key for s in mart_tables(table_registry(cb))]
    assert keys[: len(question_table_keys(cb))] == question_table_keys(cb)
    for key in (
        "marts/questions/ministry/q04",
        "marts/question_results",
        "marts/breakdowns/hires/age_band",
        "marts/breakdowns/ministry/org_type",
        "marts/comparisons/support_gap",
        "marts/comparisons/dispatch_vs_hiring",
        "marts/comparisons/waves",
        "marts/headlines",
        "data_dictionary",
    ):
        assert key in keys, key
    assert list(calibrated_marts()) == keys


def test_tables_match_their_schemas() -> None:
    schemas = {s.key: s.schema for s in mart_tables(table_registry(get_codebook()))}
    for key, (frame, schema) in calibrated_marts().items():
        assert schema.equals(schemas[key]), key
        table = to_table(frame, schema)
        assert table.schema.equals(schema), key
        assert parquet_bytes(table)  # writable as is
        # the survey year as an integer, in every table (warehouse.md, "wave")
        assert frame["wave"].dtype == "Int32" if "wave" in frame.columns else True


def test_small_industries_are_suppressed() -> None:
    frame = calibrated_marts()["marts/breakdowns/hires/industry"][0]
    # the calibrated hires come from three industries only: the others have base 0
    groups = frame.loc[~frame["is_total"]]
    empty_groups = groups.loc[groups["base_n"] < 5]
    assert empty_groups["suppressed"].all() and empty_groups["n"].isna().all()
    assert set(empty_groups["suppression"]) == {"primary"}
    # the three industries with hires are published: their empty neighbours hide nobody
    assert not groups.loc[groups["base_n"] >= 5, "suppressed"].any()
    assert not frame.loc[frame["is_total"], "suppressed"].any()  # totals: never withheld


def test_same_facts_in_any_order_give_identical_bytes() -> None:
    cb = get_codebook()
    respondents, answers, exposures = calibrated_facts(cb)
    shuffled = build_marts(
        cb,
        respondents.sample(frac=1, random_state=3),
        answers.sample(frac=1, random_state=4),
        exposures.sample(frac=1, random_state=5),
        Settings().suppress_below,
    )
    for key, (frame, schema) in calibrated_marts().items():
        other, _ = shuffled[key]
        assert parquet_bytes(to_table(frame, schema)) == parquet_bytes(to_table(other, schema)), key
