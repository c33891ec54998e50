"""The SQL copy: typed tables, read back, replaced atomically; DDL valid for PostgreSQL."""

from __future__ import annotations

import math
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateTable

from koryu_pipeline.warehouse import sql
from koryu_pipeline.warehouse.sql import (
    engine_for,
    insert_rows,
    read_table,
    replace_tables,
    sql_data,
    sql_table,
    sql_table_name,
)
from koryu_pipeline_tests.marts_fixtures import calibrated_marts


def publish(url: str, tables) -> dict[str, int]:
    """Replace `tables` at `url` in one transaction, as the SQL copy does."""
    engine = engine_for(url)
    try:
        with engine.begin() as conn:
            return replace_tables(conn, tables)
    finally:
        engine.dispose()


SCHEMA = pa.schema(
    [
        ("wave", pa.string()),
        ("code", pa.int16()),
        ("n", pa.int32()),
        ("big", pa.int64()),
        ("pct", pa.float64()),
        ("flag", pa.bool_()),
        ("at", pa.timestamp("us", tz="UTC")),
    ]
)


def _frame(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "wave": ["2023"] * n,
            "code": list(range(1, n + 1)),
            "n": [10 * i for i in range(n)],
            "big": [2**40] * n,
            "pct": [12.5] * (n - 1) + [None],
            "flag": [True] * (n - 1) + [None],
            "at": [datetime(2023, 11, 20, 6, 4, 5, 123456, tzinfo=UTC)] * n,
        }
    )


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'koryu.sqlite'}"


def test_names() -> None:
    assert sql_table_name("marts/questions/ministry/q04") == "marts__questions__ministry__q04"
    assert sql_table_name("data_dictionary") == "data_dictionary"


def test_round_trip_with_types(tmp_path: Path) -> None:
    url = _url(tmp_path)
    written = publish(url, {"marts/test/one": (_frame(3), SCHEMA)})
    assert written == {"marts__test__one": 3}
    engine = sa.create_engine(url)
    cols = {c["name"]: c["type"] for c in sa.inspect(engine).get_columns("marts__test__one")}
    engine.dispose()
    assert [type(cols[c]).__name__ for c in SCHEMA.names] == [
        "VARCHAR",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "FLOAT",
        "BOOLEAN",
        "DATETIME",
    ]
    back = read_table(url, "marts/test/one")
    assert back["code"].tolist() == [1, 2, 3]
    assert back["big"].tolist() == [2**40] * 3
    assert back["pct"].tolist()[:2] == [12.5, 12.5] and pd.isna(back["pct"].iloc[2])
    assert back["flag"].tolist()[:2] == [True, True] and back["flag"].iloc[2] is None
    assert back["at"].iloc[0].replace(tzinfo=None) == datetime(2023, 11, 20, 6, 4, 5, 123456)


def test_replaced_not_appended(tmp_path: Path) -> None:
    url = _url(tmp_path)
    publish(url, {"marts/test/one": (_frame(5), SCHEMA)})
    publish(url, {"marts/test/one": (_frame(2), SCHEMA)})
    assert len(read_table(url, "marts/test/one")) == 2


def test_one_transaction(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure half-way leaves every table as the previous run left it."""
    url = _url(tmp_path)
    tables = {"marts/a": (_frame(4), SCHEMA), "marts/b": (_frame(4), SCHEMA)}
    publish(url, tables)
    calls = {"n": 0}
    real = sql._chunks

    def failing(rows, size):
        calls["n"] += 1
        if calls["n"] == 2:  # after marts/a was dropped, re-created and filled
            raise RuntimeError("disk full")
        return real(rows, size)

    monkeypatch.setattr(sql, "_chunks", failing)
    with pytest.raises(RuntimeError):
        publish(url, {"marts/a": (_frame(1), SCHEMA), "marts/b": (_frame(1), SCHEMA)})
    assert len(read_table(url, "marts/a")) == 4
    assert len(read_table(url, "marts/b")) == 4


def test_postgresql_ddl() -> None:
    ddl = str(
        CreateTable(sql_table("marts/test/one", SCHEMA, sa.MetaData())).compile(
            dialect=postgresql.dialect()
        )
    )
    for expected in (
        "VARCHAR",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "FLOAT(53)",
        "BOOLEAN",
        "TIMESTAMP WITH TIME ZONE",
    ):
        assert expected in ddl, ddl


def test_publish_the_marts(tmp_path: Path) -> None:
    url = _url(tmp_path)
    marts = calibrated_marts()
    written = publish(url, marts)
    assert written == {sql_table_name(k): len(f) for k, (f, _) in marts.items()}
    q04 = read_table(url, "marts/questions/ministry/q04")
    original = marts["marts/questions/ministry/q04"][0]
    assert q04["n"].tolist() == original["n"].tolist()
    assert q04["option_label"].tolist() == original["option_label"].tolist()
    assert q04["pct"].tolist() == pytest.approx(original["pct"].tolist())
    headlines = read_table(url, "marts/headlines")
    assert headlines["headline"].tolist() == marts["marts/headlines"][0]["headline"].tolist()
    dictionary = read_table(url, "data_dictionary")
    assert len(dictionary) == len(marts["data_dictionary"][0])


# --------------------------------------------------------------------------- the bulk insert
# insert_rows writes with the driver's bulk path (SQLite: many rows a statement, nulls as
# NaN, a chunk's one value as a literal; PostgreSQL: COPY): what reaches the database must
# be what SQLAlchemy's own INSERT writes.

ODD = pa.table(
    {
        "text": pa.array(
            ["府省", None, "tab\there", "new\nline\r", "back\\slash \\N", "\\.", "", "é😀", "1"]
        ),
        "small": pa.array([1, None, -32768, 32767, 0, 5, 6, 7, 8], pa.int16()),
        "n": pa.array([2**31 - 1, None, -(2**31), 0, 1, 2, 3, 4, 5], pa.int32()),
        "big": pa.array([2**62, None, -(2**63), 0, 1, 2, 3, 4, 5], pa.int64()),
        "pct": pa.array(
            [0.1 + 0.2, None, float("nan"), float("inf"), -0.0, 1e-300, 5e-324, 1e22, 2 / 3]
        ),
        "flag": pa.array([True, None, False, True, False, True, False, True, False]),
        "at": pa.array(
            [
                datetime(2023, 11, 20, 6, 4, 5, 123456, tzinfo=UTC),
                None,
                datetime(1, 1, 1, tzinfo=UTC),
                datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
                datetime(1969, 12, 31, 23, 59, 59, 1, tzinfo=UTC),
                datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
                datetime(2023, 1, 1, tzinfo=UTC),
                datetime(2023, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
                datetime(2024, 2, 29, 12, tzinfo=UTC),
            ],
            pa.timestamp("us", tz="UTC"),
        ),
        "naive": pa.array([datetime(2023, 11, 20, 6, 4, 5, 7)] * 8 + [None], pa.timestamp("us")),
        "day": pa.array([date(2023, 11, 20)] * 8 + [None], pa.date32()),
    }
)


# Columns holding one value throughout a chunk of 3 (SQLite writes such a value into the
# statement): quotes and a "?" in text, the 64-bit extremes, nulls of every kind.
SAME = pa.table(
    {
        "n": pa.array([1, 2, 3, 4, 5, 6], pa.int32()),
        "text": ["it's 府省?"] * 3 + ["--'';"] * 3,
        "none": pa.array([None] * 6, pa.string()),
        "code": pa.array([None] * 3 + [7] * 3, pa.int16()),
        "big": pa.array([2**63 - 1] * 3 + [-(2**63)] * 3, pa.int64()),
        "tiny": pa.array([-5] * 3 + [0] * 3, pa.int8()),
        "flag": pa.array([True] * 3 + [None] * 3),
        "pct": pa.array([-0.0] * 3 + [float("nan")] * 3),
        "at": pa.array([datetime(2023, 11, 20, 6, 4, 5, 7, tzinfo=UTC)] * 6, ODD["at"].type),
    }
)


def _both_ways(url: str, data: pa.Table = ODD) -> tuple[list, list]:
    """`data` through insert_rows (in chunks of INSERT_CHUNK) and through SQLAlchemy's own
    INSERT."""
    engine = engine_for(url)
    try:
        with engine.begin() as conn:
            fast = sql_table("marts/test/fast", data.schema, sa.MetaData())
            slow = sql_table("marts/test/slow", data.schema, sa.MetaData())
            for table in (fast, slow):
                table.drop(conn, checkfirst=True)
                table.create(conn)
            assert insert_rows(conn, fast, sql_data(data, data.schema)) == data.num_rows
            conn.execute(slow.insert(), data.to_pylist())
        with engine.connect() as conn:
            return tuple(_stored(conn, t) for t in (fast, slow))
    finally:
        engine.dispose()


def _stored(conn: sa.Connection, table: sa.Table) -> list:
    """Every value as the database stores it: its type and its text (floats in full)."""
    if conn.dialect.name == "sqlite":
        cols = ", ".join(f'typeof("{c.name}"), quote("{c.name}")' for c in table.columns)
    else:
        conn.execute(sa.text("SET extra_float_digits = 3"))
        cols = ", ".join(f'pg_typeof("{c.name}")::text, "{c.name}"::text' for c in table.columns)
    return conn.execute(sa.text(f"SELECT {cols} FROM {table.name} ORDER BY n NULLS FIRST")).all()


def test_bulk_insert_writes_what_sqlalchemy_writes_on_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several rows a statement (3 here, then the rest: 4 = 3 + 1), nulls bound as NaN."""
    monkeypatch.setattr(sql, "INSERT_CHUNK", 4)
    monkeypatch.setattr(sql, "ROWS_PER_STATEMENT", 3)
    fast, slow = _both_ways(_url(tmp_path))
    assert len(fast) == ODD.num_rows
    assert fast == slow


def test_one_value_a_chunk_written_as_sqlite_literal_stores_what_binding_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sql, "INSERT_CHUNK", 3)
    monkeypatch.setattr(sql, "ROWS_PER_STATEMENT", 2)
    nul = pa.array(["a\x00b"] * 6)  # SQLite's statements cannot hold NUL: stays bound
    data = SAME.append_column("nul", nul)
    fast, slow = _both_ways(_url(tmp_path), data)
    assert len(fast) == data.num_rows
    assert fast == slow


def test_sqlite_literals_and_null() -> None:
    """What the fast path takes for granted on this SQLite (else the tests above would test
    less than they say): which columns become literals, and NaN binds as NULL."""
    dialect = sqlite.dialect()

    def literal(values: list, t: pa.DataType) -> str | None:
        column = sa.Column("c", sql.sql_type(t))
        return sql._sqlite_literal(pa.chunked_array([values], t), column, dialect)

    assert literal(["it's 府省?"] * 2, pa.string()) == "'it''s 府省?'"
    assert literal([None] * 2, pa.int16()) == literal([None] * 2, pa.string()) == "NULL"
    assert literal([2**63 - 1] * 2, pa.int64()) == str(2**63 - 1)
    assert literal([-(2**63)] * 2, pa.int64()) is None  # its literal: a minus applied to 2**63
    for values, t in [
        (["a", "b"], pa.string()),
        (["a", None], pa.string()),
        (["a\x00b"] * 2, pa.string()),
        ([1, 2], pa.int32()),
        ([True] * 2, pa.bool_()),
        ([0.5] * 2, pa.float64()),
        ([None] * 2, pa.float64()),
        ([date(2023, 1, 1)] * 2, pa.date32()),
    ]:
        assert literal(values, t) is None, (values, t)
    connection = sqlite3.connect(":memory:")
    assert math.isnan(sql._sqlite_null(connection.cursor()))
    connection.close()


def test_timestamp_text_is_strftime() -> None:
    for values in (ODD["at"], ODD["naive"]):
        expected = pc.strftime(values, "%Y-%m-%d %H:%M:%S")
        assert sql._timestamp_text(values).equals(expected)
    assert sql._timestamp_text(pa.array([0], pa.timestamp("us", tz="Asia/Tokyo"))) is None


@pytest.mark.slow
@pytest.mark.parametrize("driver", ["psycopg2", "psycopg"])
def test_copy_writes_what_sqlalchemy_writes_on_postgresql(
    postgres: dict[str, str], driver: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """COPY, from the text Arrow makes, stores the very values an INSERT stores: escapes,
    nulls, extreme floats, timestamps from year 1 to 9999."""
    monkeypatch.setattr(sql, "INSERT_CHUNK", 4)  # one COPY of several chunks ...
    monkeypatch.setattr(sql, "COPY_BUFFER", 5)  # ... that psycopg2 reads 5 bytes at a time
    url = f"postgresql+{driver}://{postgres['user']}@{postgres['host']}:{postgres['port']}/"
    for data in (ODD, SAME):
        fast, slow = _both_ways(url + postgres["db"], data)
        assert len(fast) == data.num_rows
        assert fast == slow
