"""The SQL copy of the warehouse (warehouse.md, "SQL"), through SQLAlchemy.

Naming: a table's warehouse key with every "/" replaced by "__" -- `marts/questions/ministry/q04`
becomes `marts__questions__ministry__q04`, `data_dictionary` stays `data_dictionary`. Keys
are lower-case ASCII, so the names need no quoting and stay under PostgreSQL's 63 characters.
Columns keep their Parquet names, except the SQL reserved words `table` and `column`, which
become `table_name` and `column_name` (`SQL_RENAMES`), so that no query needs quoting.

Columns are typed from the Arrow schema with SQLAlchemy's generic types (String, SmallInteger,
Integer, BigInteger, Float, Boolean, DateTime(timezone=True), Date), so the same code creates
the same tables on SQLite and PostgreSQL. Tables and columns carry the registry's
descriptions as comments where the database keeps them (PostgreSQL's COMMENT ON; SQLite has
none). Every change happens inside the caller's ONE transaction: a reader sees the previous
run's tables or this run's, never a mix.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import pandas as pd
import pyarrow as pa
import sqlalchemy as sa

from koryu_pipeline.warehouse.frames import to_table
from koryu_pipeline.warehouse.tables import TableSpec

INSERT_CHUNK = 5_000


# SQL reserved words among the Parquet column names, and what the SQL copy calls them.
SQL_RENAMES = {"table": "table_name", "column": "column_name"}


def sql_table_name(key: str) -> str:
    return key.replace("/", "__")


def sql_columns(schema: pa.Schema) -> list[tuple[str, str]]:
    """(Parquet name, SQL name) of each column the SQL copy holds. A reserved word is
    renamed; where its table already carries the new name (data_dictionary has both
    `table` and `table_name`), the reserved-word column is left out."""
    names = set(schema.names)
    out = []
    for name in schema.names:
        new = SQL_RENAMES.get(name, name)
        if new != name and new in names:
            continue
        out.append((name, new))
    return out


def sql_type(t: pa.DataType) -> sa.types.TypeEngine:
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return sa.String()
    if pa.types.is_boolean(t):
        return sa.Boolean()
    if pa.types.is_int8(t) or pa.types.is_int16(t) or pa.types.is_uint8(t):
        return sa.SmallInteger()
    if pa.types.is_int32(t) or pa.types.is_uint16(t):
        return sa.Integer()
    if pa.types.is_integer(t):
        return sa.BigInteger()
    if pa.types.is_floating(t):
        return sa.Float(precision=53)  # double precision on PostgreSQL
    if pa.types.is_timestamp(t):
        return sa.DateTime(timezone=t.tz is not None)
    if pa.types.is_date(t):
        return sa.Date()
    raise TypeError(f"no SQL type for Arrow type {t}")


def sql_table(
    key: str, schema: pa.Schema, metadata: sa.MetaData, spec: TableSpec | None = None
) -> sa.Table:
    """The SQL table of a warehouse table; commented from its registry entry when given."""
    described = {c.name: c.description for c in spec.columns} if spec else {}
    return sa.Table(
        sql_table_name(key),
        metadata,
        *(
            sa.Column(
                new,
                sql_type(schema.field(name).type),
                nullable=True,
                comment=described.get(name) or None,
            )
            for name, new in sql_columns(schema)
        ),
        comment=spec.description if spec else None,
    )


def definition(table: sa.Table) -> str:
    """The parts of a table's definition a copy must follow: name, columns, types,
    comments. Part of the digest, so a new column or description re-creates the table."""
    parts = [table.name, table.comment or ""]
    parts += [f"{c.name} {c.type!r} {c.comment or ''}" for c in table.columns]
    return "\n".join(parts)


def sql_rows(data: pa.Table, schema: pa.Schema) -> list[dict]:
    """Rows as the SQL table names its columns, values exactly the Parquet ones."""
    pairs = sql_columns(schema)
    return data.select([a for a, _ in pairs]).rename_columns([b for _, b in pairs]).to_pylist()


def insert_rows(conn: sa.Connection, table: sa.Table, rows: list[dict]) -> None:
    for chunk in _chunks(rows, INSERT_CHUNK):
        conn.execute(table.insert(), chunk)


def _chunks(rows: list[dict], size: int) -> Iterator[list[dict]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _create_sqlite_file(database: str | None) -> None:
    """Create a new SQLite database file as any new file is created (0666 less the umask,
    so 0644 under umask 022), not with SQLite's fixed 0644; its journals take the same
    mode. An empty file is an empty database."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.exists() or not path.parent.is_dir():
        return
    with contextlib.suppress(FileExistsError):  # created meanwhile: SQLite opens it as is
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))


def engine_for(url: str) -> sa.Engine:
    """An engine on which `engine.begin()` covers DDL too (see below); dispose it after."""
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":
        _create_sqlite_file(engine.url.database)

        # pysqlite only opens a transaction before DML, so DROP/CREATE would each commit on
        # their own; let SQLAlchemy's BEGIN cover the DDL too (the recipe in SQLAlchemy's
        # SQLite dialect docs, "Serializable isolation / Savepoints / Transactional DDL").
        @sa.event.listens_for(engine, "connect")
        def _no_implicit_begin(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            dbapi_conn.isolation_level = None

        @sa.event.listens_for(engine, "begin")
        def _begin(conn) -> None:  # type: ignore[no-untyped-def]
            conn.exec_driver_sql("BEGIN")

    return engine


def replace_tables(
    conn: sa.Connection,
    tables: Mapping[str, tuple[pd.DataFrame | pa.Table, pa.Schema]],
    specs: Mapping[str, TableSpec] | None = None,
) -> dict[str, int]:
    """Drop, re-create and fill each table on `conn`, inside the caller's transaction.
    A table may come as a frame or as the Arrow table already built for its Parquet file.
    Returns SQL table name -> rows written."""
    metadata = sa.MetaData()
    specs = specs or {}
    # Rows through Arrow first (before any DDL): the values are exactly the Parquet ones
    # (typed, nulls as None), and a frame that does not fit its schema fails before a drop.
    prepared = [
        (
            sql_table(key, schema, metadata, specs.get(key)),
            sql_rows(data if isinstance(data, pa.Table) else to_table(data, schema), schema),
        )
        for key, (data, schema) in sorted(tables.items())
    ]
    written: dict[str, int] = {}
    for table, rows in prepared:
        table.drop(conn, checkfirst=True)
        table.create(conn)
        insert_rows(conn, table, rows)
        written[table.name] = len(rows)
    return written


def read_table(url: str, key: str) -> pd.DataFrame:
    """A published table back as a frame (tests, ad-hoc checks)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            table = sa.Table(sql_table_name(key), sa.MetaData(), autoload_with=conn)
            result = conn.execute(sa.select(table))
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    finally:
        engine.dispose()
