"""The data dictionary covers every column of every published table, in both languages."""

import pyarrow as pa

from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.marts.dictionary import build_data_dictionary, undescribed
from koryu_pipeline.warehouse.tables import (
    DATA_DICTIONARY as DATA_DICTIONARY_KEY,
)
from koryu_pipeline.warehouse.tables import (
    Column,
    TableSpec,
    describe_column,
    table_registry,
)
from koryu_pipeline_tests.marts_fixtures import calibrated_marts


def test_every_published_column_is_described() -> None:
    registry = table_registry(get_codebook())
    dictionary = build_data_dictionary(registry)
    assert undescribed(dictionary) == []
    published = [s for s in registry.values() if s.in_dictionary]
    assert len(dictionary) == sum(len(s.columns) for s in published)
    assert set(dictionary["table"]) == {s.key for s in published}
    assert not any(k.startswith("staging/") for k in dictionary["table"])
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
    spec = TableSpec("marts/x", "", "marts", (Column("mystery", pa.string()),))
    dictionary = build_data_dictionary({"marts/x": spec})
    assert undescribed(dictionary) == ["marts/x.mystery"]
