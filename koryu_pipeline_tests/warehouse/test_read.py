"""Reading the facts back for the marts: the values on disk, compactly typed, with one
respondent code space for the three tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.marts.build import build_marts
from koryu_pipeline.marts.checks import check_bases_match_facts
from koryu_pipeline.warehouse.frames import to_table
from koryu_pipeline.warehouse.parquet import (
    parquet_bytes,
    partition_path,
    read_partitions,
    write_wave,
)
from koryu_pipeline.warehouse.read import Runs, read_facts, shared_codes
from koryu_pipeline.warehouse.tables import (
    FACT_INPUTS,
    QUESTION_RESULTS,
    file_schema,
    table_registry,
)
from koryu_pipeline_tests.marts_fixtures import calibrated_facts


def _plain(s: pd.Series) -> list[object]:
    """Values as Python objects, nulls as None, whatever the dtype."""
    return [None if pd.isna(v) else v for v in s.astype(object)]


@pytest.fixture(scope="module")
def facts() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return calibrated_facts(get_codebook())


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, facts) -> Path:
    cb = get_codebook()
    root = tmp_path_factory.mktemp("warehouse")
    frames = {}
    for key, frame in zip(FACT_INPUTS, facts, strict=True):
        for instrument, part in frame.groupby("instrument"):
            frames[(str(instrument), key)] = part
    write_wave(cb, root, "2023", frames, tables=FACT_INPUTS)
    return root


def test_the_values_on_disk(warehouse: Path) -> None:
    cb = get_codebook()
    registry = table_registry(cb)
    facts = read_facts(cb, warehouse)
    for key, frame in zip(FACT_INPUTS, facts, strict=True):
        plain = read_partitions(warehouse, key, registry[key].schema)
        assert list(frame.columns) == registry[key].schema.names
        assert len(frame) == len(plain) > 0
        for col in frame.columns:
            assert _plain(frame[col]) == _plain(plain[col]), (key, col)
    # strings as categoricals, one set of respondent ids for the three tables
    respondents, answers, exposures = facts
    ids = respondents["respondent_id"].dtype
    assert answers["respondent_id"].dtype is ids and exposures["respondent_id"].dtype is ids
    assert set(ids.categories) == set(respondents["respondent_id"])
    assert isinstance(answers["option_label"].dtype, pd.CategoricalDtype)
    assert answers["item_sort"].dtype == "Int16" and exposures["shown"].dtype == "boolean"


def test_marts_and_checks_alike_from_either_reading(warehouse: Path) -> None:
    cb = get_codebook()
    registry = table_registry(cb)
    compact = read_facts(cb, warehouse)
    plain = [read_partitions(warehouse, k, registry[k].schema) for k in FACT_INPUTS]
    one, other = build_marts(cb, *compact, 5), build_marts(cb, *plain, 5)
    for key, (frame, schema) in one.items():
        assert parquet_bytes(to_table(frame, schema)) == parquet_bytes(
            to_table(other[key][0], schema)
        ), key
    results = one[QUESTION_RESULTS][0]
    assert check_bases_match_facts(results, compact[2])[0]
    assert check_bases_match_facts(results, plain[2])[0]
    # a lost exposure: the recount says so from the compact frame too
    ok, meta = check_bases_match_facts(results, compact[2].iloc[1:])
    assert not ok and meta["bad_cells"] >= 1


def test_a_column_a_file_lacks_is_null_and_row_groups_do_not_matter(tmp_path: Path, facts) -> None:
    cb = get_codebook()
    registry = table_registry(cb)
    respondents, answers, exposures = facts
    for key, frame in zip(FACT_INPUTS, (respondents, answers, exposures), strict=True):
        for instrument, part in frame.groupby("instrument"):
            table = to_table(part, file_schema(registry[key].schema))
            if key == FACT_INPUTS[0]:
                table = table.drop_columns(["personnel_line"])  # an older file
            path = partition_path(tmp_path, key, str(instrument), "2023")
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, path, row_group_size=97)  # ids' runs cross row groups
    r, a, x = read_facts(cb, tmp_path)
    assert r["personnel_line"].isna().all() and len(r) == len(respondents)
    back = x.sort_values(["respondent_id", "question_id", "item_id"]).reset_index(drop=True)
    mine = exposures.sort_values(["respondent_id", "question_id", "item_id"])
    assert _plain(back["respondent_id"]) == _plain(mine["respondent_id"])
    assert _plain(a["respondent_id"]) == _plain(
        pd.concat([p for _, p in answers.groupby("instrument")])["respondent_id"]
    )


def test_an_empty_warehouse_reads_as_empty_frames(tmp_path: Path) -> None:
    cb = get_codebook()
    registry = table_registry(cb)
    for key, frame in zip(FACT_INPUTS, read_facts(cb, tmp_path), strict=True):
        assert frame.empty and list(frame.columns) == registry[key].schema.names


def test_shared_codes_of_unsorted_chunked_ids_with_nulls() -> None:
    first = pa.chunked_array([["a", "a", "b"], ["b", None, "c"], [], ["a"]])
    second = pa.chunked_array([["c", "c", "d", "a", None]])
    third = pa.chunked_array([["a", "a", "b", "b", None, "c", "a"]])  # first's values
    runs = [Runs.of(c) for c in (first, second, third)]
    assert len(runs[0].starts) == 5  # the runs of "b" across the chunk boundary are one
    dictionary, codes = shared_codes(runs)
    assert dictionary.to_pylist() == ["a", "b", "c", "d"]
    for column, own in zip((first, second, third), codes, strict=True):
        assert own.dtype == np.int32
        decoded = [None if c < 0 else dictionary[c].as_py() for c in own]
        assert decoded == column.to_pylist()


def test_categoricals_sort_as_their_strings(tmp_path: Path, facts) -> None:
    """Two waves' ids interleave: the shared categories are sorted all the same."""
    cb = get_codebook()
    for wave, suffix in (("2023", ""), ("2024", "~")):  # "x~" sorts between "x" and "y"
        frames = {}
        for key, frame in zip(FACT_INPUTS, facts, strict=True):
            ministry = frame.loc[frame["instrument"] == "ministry"]
            ministry = ministry.assign(respondent_id=ministry["respondent_id"] + suffix)
            frames[("ministry", key)] = ministry.assign(wave=int(wave))
        write_wave(cb, tmp_path, wave, frames, tables=FACT_INPUTS)
    respondents, answers, _ = read_facts(cb, tmp_path)
    ids = respondents["respondent_id"]
    assert list(ids.cat.categories) == sorted(ids.astype(str))
    assert _plain(ids.sort_values()) == sorted(ids.astype(str))
    labels = answers["option_label"]
    assert list(labels.cat.categories) == sorted(labels.dropna().astype(str).unique())
    stored = facts[1].loc[facts[1]["instrument"] == "ministry", "respondent_id"]
    assert _plain(answers["respondent_id"]) == _plain(pd.concat([stored, stored + "~"]))
