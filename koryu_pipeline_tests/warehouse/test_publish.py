"""The SQL copy kept up to date (SQLite here; PostgreSQL in test_postgres.py): the facts per
partition, the marts per table, bookkeeping out of the analysts' tables, reserved words
renamed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
import sqlalchemy as sa

from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.warehouse.parquet import write_partition
from koryu_pipeline.warehouse.publish import (
    LEGACY_STATE_TABLE,
    STATE_TABLE_FLAT,
    partitions_on_disk,
    publish_marts,
)
from koryu_pipeline.warehouse.sql import read_table, sql_columns
from koryu_pipeline.warehouse.tables import FILES, REJECTIONS, table_registry
from koryu_pipeline_tests.postgres import sqlalchemy_url

REGISTRY = table_registry(get_codebook())


def _files(instrument: str, wave: str, names: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "instrument": instrument,
            "wave": int(wave),
            "source_file": [f"{instrument}/{wave}/{n}" for n in names],
            "rows": 3,
            "accepted": 2,
            "rejected": 1,
            "file_rejected": False,
        }
    )


def _rejection(instrument: str, wave: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "instrument": [instrument],
            "wave": [int(wave)],
            "source_file": ["x.csv"],
            "source_row": [2],
            "rule": ["unknown_option"],
            "column": ["q04"],
            "value": ["?"],
            "message": ["not an option"],
        }
    )


def _write(wh: Path, instrument: str, wave: str, names: list[str]) -> None:
    write_partition(wh, FILES, instrument, wave, _files(instrument, wave, names), _schema(FILES))
    write_partition(
        wh, REJECTIONS, instrument, wave, _rejection(instrument, wave), _schema(REJECTIONS)
    )


def _schema(key: str) -> pa.Schema:
    return REGISTRY[key].schema


def _publish(url: str, wh: Path):
    cb = get_codebook()
    parts = {
        k: (_schema(k), partitions_on_disk(cb, wh, k, _schema(k))) for k in (FILES, REJECTIONS)
    }
    return publish_marts(url, {}, partitioned=parts, specs=REGISTRY)


def _rows(url: str) -> list[tuple]:
    frame = read_table(url, FILES)
    return sorted(frame[["instrument", "wave", "source_file"]].itertuples(index=False, name=None))


def test_facts_are_copied_per_partition(tmp_path: Path) -> None:
    wh, url = tmp_path / "wh", f"sqlite:///{tmp_path / 'copy.sqlite'}"
    _write(wh, "ministry", "2023", ["a.xlsx"])
    _write(wh, "hires", "2023", ["b.csv", "c.csv"])
    first = _publish(url, wh)
    assert sorted(first.replaced) == ["quarantine__files", "quarantine__rejections"]
    assert len(first.partitions_replaced) == 4
    assert _rows(url) == [
        ("hires", 2023, "hires/2023/b.csv"),
        ("hires", 2023, "hires/2023/c.csv"),
        ("ministry", 2023, "ministry/2023/a.xlsx"),
    ]
    # unchanged: nothing written
    again = _publish(url, wh)
    assert again.replaced == [] and again.partitions_replaced == []
    # a new wave and a changed partition: exactly those
    _write(wh, "hires", "2024", ["d.csv"])
    _write(wh, "ministry", "2023", ["a2.xlsx"])
    third = _publish(url, wh)
    assert third.replaced == []
    assert sorted(third.partitions_replaced) == [
        "quarantine__files instrument=hires/wave=2024",
        "quarantine__files instrument=ministry/wave=2023",
        "quarantine__rejections instrument=hires/wave=2024",
    ]
    assert _rows(url) == [
        ("hires", 2023, "hires/2023/b.csv"),
        ("hires", 2023, "hires/2023/c.csv"),
        ("hires", 2024, "hires/2024/d.csv"),
        ("ministry", 2023, "ministry/2023/a2.xlsx"),
    ]
    # a partition that left the warehouse leaves the copy
    for key in (FILES, REJECTIONS):
        (wh / key / "instrument=hires" / "wave=2024" / "part-0.parquet").unlink()
    fourth = _publish(url, wh)
    assert len(fourth.partitions_removed) == 2
    assert [r[1] for r in _rows(url)] == [2023, 2023, 2023]


def test_bookkeeping_and_reserved_words(tmp_path: Path) -> None:
    wh, url = tmp_path / "wh", f"sqlite:///{tmp_path / 'copy.sqlite'}"
    _write(wh, "ministry", "2023", ["a.xlsx"])
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # where an earlier version kept its state
        conn.execute(sa.text(f"CREATE TABLE {LEGACY_STATE_TABLE} (table_name TEXT)"))
    _publish(url, wh)
    names = set(sa.inspect(engine).get_table_names())
    assert names == {STATE_TABLE_FLAT, "quarantine__files", "quarantine__rejections"}
    cols = [c["name"] for c in sa.inspect(engine).get_columns("quarantine__rejections")]
    assert "column_name" in cols and "column" not in cols  # COLUMN is reserved in SQL
    with engine.connect() as conn:  # no quoting needed
        got = conn.execute(sa.text("SELECT column_name, wave FROM quarantine__rejections")).all()
    assert got == [("q04", 2023)]
    engine.dispose()


def test_sql_columns_rename_reserved_words() -> None:
    dictionary = pa.schema([(n, pa.string()) for n in ("table", "column", "table_name")])
    assert sql_columns(dictionary) == [("column", "column_name"), ("table_name", "table_name")]
    assert dict(sql_columns(_schema(REJECTIONS)))["column"] == "column_name"


@contextmanager
def _deletes() -> Iterator[list[str]]:
    """The DELETEs of quarantine__files sent to any database meanwhile."""
    sent: list[str] = []

    def record(conn: sa.Connection, cursor: object, statement: str, *rest: object) -> None:
        if statement.startswith("DELETE FROM quarantine__files"):
            sent.append("per partition" if " WHERE " in statement else "whole table")

    sa.event.listen(sa.Engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        sa.event.remove(sa.Engine, "before_cursor_execute", record)


def _a_partition_alone(url: str, wh: Path) -> None:
    """A partition that is all its table holds goes by one DELETE without a condition; any
    other row (here one without an instrument, which a condition can neither match nor
    rule out) keeps the per-partition DELETE, and stays."""
    _write(wh, "hires", "2023", ["b.csv", "c.csv"])
    _publish(url, wh)
    _write(wh, "hires", "2023", ["b2.csv"])
    with _deletes() as sent:
        _publish(url, wh)
    assert sent == ["whole table"]
    assert _rows(url) == [("hires", 2023, "hires/2023/b2.csv")]

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO quarantine__files (wave, source_file) VALUES (2023, 'mine')")
        )
    engine.dispose()
    _write(wh, "hires", "2023", ["b3.csv"])
    with _deletes() as sent:
        _publish(url, wh)
    assert sent == ["per partition"]
    frame = read_table(url, FILES)
    assert sorted(frame["source_file"]) == ["hires/2023/b3.csv", "mine"]


def test_a_partition_alone_in_its_table_is_deleted_whole(tmp_path: Path) -> None:
    _a_partition_alone(f"sqlite:///{tmp_path / 'copy.sqlite'}", tmp_path / "wh")


@pytest.mark.slow
def test_a_partition_alone_in_its_table_is_deleted_whole_on_postgresql(
    postgres: dict[str, str], tmp_path: Path
) -> None:
    engine = sa.create_engine(sqlalchemy_url(postgres), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("DROP DATABASE IF EXISTS alone"))
        conn.execute(sa.text("CREATE DATABASE alone"))
    engine.dispose()
    _a_partition_alone(sqlalchemy_url({**postgres, "db": "alone"}), tmp_path / "wh")
