"""The data dictionary covers every column of every published table, in both languages."""

import pyarrow as pa

from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.dictionary import (
    DATA_DICTIONARY_KEY,
    build_data_dictionary,
    describe_column,
    undescribed,
)
from koryu_pipeline.marts import fact_schemas, mart_schemas
from koryu_pipeline_tests.marts_fixtures import calibrated_marts


def test_every_published_column_is_described() -> None:
    cb = get_codebook()
    schemas = {**fact_schemas(cb), **mart_schemas(cb)}
    dictionary = build_data_dictionary(schemas)
    assert undescribed(dictionary) == []
    expected = sum(len(s) for s in schemas.values())
    if DATA_DICTIONARY_KEY not in schemas:
        expected += len(dictionary.loc[dictionary["table"] == DATA_DICTIONARY_KEY])
    assert len(dictionary) == expected
    assert (dictionary["description_ja"].str.len() > 0).all()
    assert (dictionary["description_en"].str.len() > 0).all()


def test_built_dictionary_matches_the_built_tables() -> None:
    marts = calibrated_marts()
    dictionary = marts[DATA_DICTIONARY_KEY][0]
    assert undescribed(dictionary) == []
    for key, (frame, schema) in marts.items():
        rows = dictionary.loc[dictionary["table"] == key]
        assert rows["column"].tolist() == list(frame.columns) == schema.names, key
        assert rows["type"].tolist() == [str(t) for t in schema.types], key
    for table in (
        "facts/respondents",
        "facts/answers",
        "facts/exposures",
        "quarantine/rejections",
        "quarantine/files",
    ):
        assert (dictionary["table"] == table).any(), table


def test_code_columns_and_overrides() -> None:
    ja, en = describe_column("facts/respondents", "age_band_code")
    assert ja.startswith("回答者の年代") and en.endswith("(code)")
    assert describe_column("marts/comparisons/waves", "pct")[1] == "Percent in this wave"
    assert describe_column("marts/questions/ministry/q01", "pct")[1].startswith("Percent of")
    assert describe_column("anything", "no_such_column") == (None, None)


def test_unknown_column_is_reported() -> None:
    dictionary = build_data_dictionary({"marts/x": pa.schema([("mystery", pa.string())])})
    assert undescribed(dictionary) == ["marts/x.mystery"]
