"""The warehouse as analysts read it (issue 10): every reader named in docs/warehouse.md
joins the hive-partitioned facts to the marts on `instrument, wave` without a cast and finds
the right rows; `wave` has one type in every file; a single-file reader still sees each
row's instrument and wave."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.warehouse.parquet import flat_path
from koryu_pipeline.warehouse.tables import table_registry

pytestmark = pytest.mark.slow

KEYS = ["instrument", "wave", "question_id", "option_code"]


def _expected(wh: Path) -> int:
    """Answers to questions without items: each meets exactly one row of its question's
    mart (its option's), so the join returns as many rows as there are such answers."""
    answers = pq.read_table(wh / "facts/answers").to_pandas()
    marts = pq.read_table(wh / "marts/question_results").to_pandas()
    count = int(answers["item_id"].isna().sum())
    assert count == int(marts.loc[marts["item_id"].isna(), "n"].sum())  # recounted
    assert set(answers["instrument"]) == {"ministry", "hires"}
    return count


def test_wave_is_an_int32_in_every_file(demo_warehouse: Path) -> None:
    files = sorted(demo_warehouse.rglob("*.parquet"))
    typed = 0
    for path in files:
        assert path.stat().st_mode & 0o044 == 0o044, path  # analysts' tools run as others
        schema = pq.read_schema(path)
        for name in ("wave", "previous_wave"):
            if name in schema.names:
                assert schema.field(name).type == pa.int32(), (path, name)
                typed += 1
    assert typed > 30
    dictionary = pq.read_table(demo_warehouse / "data_dictionary").to_pandas()
    assert set(dictionary.loc[dictionary["column"] == "wave", "type"]) == {"int32"}


def test_duckdb_joins_facts_to_marts(demo_warehouse: Path) -> None:
    wh = demo_warehouse
    con = duckdb.connect()
    facts = f"read_parquet('{wh}/facts/answers/**/*.parquet', hive_partitioning=true)"
    marts = f"read_parquet('{wh}/marts/question_results/*.parquet')"
    (wave_type,) = con.sql(f"SELECT wave FROM {facts}").types
    assert str(wave_type) in {"INTEGER", "BIGINT"}  # hive inference: an integer
    (rows,) = con.sql(
        f"SELECT count(*) FROM {facts} a JOIN {marts} m USING (instrument, wave, question_id, "
        "option_code) WHERE a.item_id IS NULL AND m.item_id IS NULL"
    ).fetchall()[0]
    assert rows == _expected(wh)


def test_pandas_joins_facts_to_marts(demo_warehouse: Path) -> None:
    wh = demo_warehouse
    facts = pd.read_parquet(wh / "facts/answers", engine="pyarrow")
    marts = pd.read_parquet(wh / "marts/question_results", engine="pyarrow")
    assert facts["wave"].cat.categories.dtype == "int32"  # hive: a category of int32
    merged = facts.loc[facts["item_id"].isna()].merge(marts.loc[marts["item_id"].isna()], on=KEYS)
    assert len(merged) == _expected(wh)


def test_polars_joins_facts_to_marts(demo_warehouse: Path) -> None:
    wh = demo_warehouse
    facts = pl.scan_parquet(wh / "facts/answers", hive_partitioning=True)
    marts = pl.scan_parquet(wh / "marts/question_results")
    assert facts.collect_schema()["wave"].is_integer()
    joined = (
        facts.filter(pl.col("item_id").is_null())
        .join(marts.filter(pl.col("item_id").is_null()), on=KEYS)
        .collect()
    )
    assert joined.height == _expected(wh)


def test_pyarrow_datasets_join_facts_to_marts(demo_warehouse: Path) -> None:
    wh = demo_warehouse
    marts = pq.read_table(wh / "marts/question_results")
    marts = marts.filter(pc.is_null(marts["item_id"])).select([*KEYS, "n"])
    for facts in (
        ds.dataset(wh / "facts/answers", partitioning="hive").to_table(),
        pq.read_table(wh / "facts/answers"),  # pyarrow.parquet: dictionary partition columns
    ):
        facts = facts.filter(pc.is_null(facts["item_id"])).select([*KEYS, "respondent_id"])
        assert facts.join(marts, keys=KEYS).num_rows == _expected(wh)


def test_single_file_readers_see_instrument_and_wave(demo_warehouse: Path) -> None:
    """Every partitioned table is also one file, `<table>.parquet` beside its folder, with
    instrument and wave as columns: what Power BI, Tableau or Excel read."""
    wh = demo_warehouse
    con = duckdb.connect()
    partitioned = [s.key for s in table_registry(get_codebook()).values() if s.partitioned]
    assert len(partitioned) == 7
    for key in partitioned:
        flat = flat_path(wh, key)
        table = pq.read_table(flat)  # one file, no dataset discovery
        assert table.schema.field("instrument").type == pa.string(), key
        assert table.schema.field("wave").type == pa.int32(), key
        counts = con.sql(
            f"SELECT instrument, wave, count(*) FROM read_parquet('{flat}', "
            "hive_partitioning=false) GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        hive = con.sql(
            f"SELECT instrument, wave, count(*) FROM read_parquet('{wh}/{key}/**/*.parquet', "
            "hive_partitioning=true, union_by_name=true) GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        assert counts == hive and counts, key
    # and the join of item 1 from the single file, with no partition discovery at all
    facts = pd.read_parquet(flat_path(wh, "facts/answers"))
    marts = pd.read_parquet(wh / "marts/question_results/part-0.parquet")
    merged = facts.loc[facts["item_id"].isna()].merge(marts.loc[marts["item_id"].isna()], on=KEYS)
    assert len(merged) == _expected(wh)
