"""The per-question tables as a whole: keys, one schema, determinism, question_results."""

import pyarrow as pa

from koryu_pipeline.marts.questions import question_results, question_tables
from koryu_pipeline.warehouse.parquet import parquet_bytes, to_table
from koryu_pipeline.warehouse.tables import QUESTION_SCHEMA, question_table_keys


def test_keys_from_the_codebook_alone(codebook) -> None:
    keys = question_table_keys(codebook)
    assert "marts/questions/ministry/q04" in keys
    assert "marts/questions/ministry/q07_reasons" in keys
    assert "marts/questions/hires/support_wishes" in keys
    assert "marts/questions/hires/satisfaction" in keys
    expected = sum(
        1 for f in codebook.forms for e in f.questions if e.is_choice
    )  # one wave per instrument in the package codebook
    assert len(keys) == len(set(keys)) == expected
    assert not any(k.endswith(("/org_type", "/s_dispatch", "/age_band")) for k in keys)


def test_every_table_has_the_one_schema(small_tables) -> None:
    for key, frame in small_tables.items():
        table = to_table(frame, QUESTION_SCHEMA)
        assert table.schema.equals(QUESTION_SCHEMA), key
        assert not any(isinstance(t, pa.DictionaryType) for t in table.schema.types)


def test_tables_without_data_are_empty_with_schema(small_tables) -> None:
    hires = small_tables["marts/questions/hires/support_wishes"]
    assert hires.empty and list(hires.columns) == QUESTION_SCHEMA.names


def test_deterministic(codebook, small_facts) -> None:
    _, answers, exposures = small_facts
    a = question_tables(codebook, answers, exposures)
    # same facts in another row order
    b = question_tables(
        codebook, answers.sample(frac=1, random_state=1), exposures.sample(frac=1, random_state=2)
    )
    for key in a:
        assert parquet_bytes(to_table(a[key], QUESTION_SCHEMA)) == parquet_bytes(
            to_table(b[key], QUESTION_SCHEMA)
        ), key


def test_question_results_concatenates(small_tables) -> None:
    results = question_results(small_tables)
    assert len(results) == sum(len(f) for f in small_tables.values())
    assert list(results.columns) == QUESTION_SCHEMA.names
    order = results[["instrument", "wave", "question_sort"]].apply(tuple, axis=1).tolist()
    assert order == sorted(order)
