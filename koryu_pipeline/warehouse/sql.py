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

Rows go in by the driver's bulk path, from Arrow, a chunk at a time: PostgreSQL's COPY (text
written by Arrow) through psycopg 2 or 3, elsewhere executemany of plain tuples; the values
stored are those SQLAlchemy's own INSERT stores (koryu_pipeline_tests/warehouse/test_sql.py
compares them).
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from koryu_pipeline.warehouse.frames import to_table
from koryu_pipeline.warehouse.tables import TableSpec

INSERT_CHUNK = 50_000  # rows made Python objects at a time


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


def sql_data(data: pa.Table, schema: pa.Schema) -> pa.Table:
    """`data`'s columns as the SQL table holds them: its columns, in order, under their SQL
    names; the values exactly the Parquet ones."""
    pairs = sql_columns(schema)
    return data.select([a for a, _ in pairs]).rename_columns([b for _, b in pairs])


def insert_rows(conn: sa.Connection, table: sa.Table, data: pa.Table) -> int:
    """Append `data` (as `sql_data` gives it) to `table` inside the caller's transaction, in
    chunks of INSERT_CHUNK rows so that only one chunk is ever Python objects. PostgreSQL
    through psycopg 2 or 3: COPY, the rows written as its text format by Arrow; elsewhere
    one executemany per chunk with plain tuples, the values bound as SQLAlchemy would bind
    them (its bind processors, or their vectorised equals). Returns the rows written."""
    dialect = conn.dialect
    copy = _postgres_copy(conn, table) if dialect.name == "postgresql" else None
    insert = None if copy else _positional_insert(conn, table)
    for chunk in _chunks(data, INSERT_CHUNK):
        if copy:
            copy(chunk)
        elif insert:
            insert(_tuples(chunk, table, dialect))
        else:  # a driver with named parameters only: through SQLAlchemy
            conn.execute(table.insert(), chunk.to_pylist())
    return data.num_rows


def _chunks(data: pa.Table, size: int) -> Iterator[pa.Table]:
    for start in range(0, data.num_rows, size):
        yield data.slice(start, size)


def _positional_insert(
    conn: sa.Connection, table: sa.Table
) -> Callable[[Iterable[tuple[object, ...]]], None] | None:
    """executemany on the driver's cursor (SQLite's takes an iterator: the chunk's tuples
    are made as it reads them); None when the driver's parameters are not positional."""
    dialect = conn.dialect
    if not dialect.positional:
        return None
    statement = str(table.insert().compile(dialect=dialect))
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    if dialect.name == "sqlite":
        return lambda rows: cursor.executemany(statement, rows)
    return lambda rows: cursor.executemany(statement, list(rows))


def _tuples(data: pa.Table, table: sa.Table, dialect: sa.Dialect) -> Iterator[tuple]:
    """The rows of `data` as tuples of bound values, made column by column."""
    columns = [_bind_values(data.column(i), c, dialect) for i, c in enumerate(table.columns)]
    return zip(*columns, strict=True)


def _bind_values(values: pa.ChunkedArray, column: sa.Column, dialect: sa.Dialect) -> list:
    """A column's values as SQLAlchemy binds them on `dialect`: its bind processor applied
    to each value, or a vectorised equal where one is known (text as Arrow makes it, flags
    as 0/1 where the database has no boolean, SQLite's timestamps as SQLAlchemy formats
    them)."""
    impl = column.type.dialect_impl(dialect)
    arrow = values.type
    text = pa.types.is_string(arrow) or pa.types.is_large_string(arrow)
    if text and impl.bind_processor(dialect) is None:
        return _texts(values)
    if pa.types.is_boolean(arrow) and isinstance(impl, sa.Boolean):
        # Boolean's processor: bool(v) with a native boolean, int(v) without
        return (values if dialect.supports_native_boolean else values.cast(pa.int8())).to_pylist()
    if pa.types.is_timestamp(arrow) and _sqlite_datetime(impl) and arrow.tz in (None, "UTC"):
        # DATETIME's processor: "%Y-%m-%d %H:%M:%S.%f" of the value as it stands
        return pc.strftime(
            values.cast(pa.timestamp("us", arrow.tz)), "%Y-%m-%d %H:%M:%S"
        ).to_pylist()
    out = values.to_pylist()
    process = impl.bind_processor(dialect)
    return out if process is None else [process(v) for v in out]


def _sqlite_datetime(impl: sa.types.TypeEngine) -> bool:
    return (
        isinstance(impl, sqlite.DATETIME)
        and impl._storage_format == sqlite.DATETIME._storage_format
    )


def _texts(values: pa.ChunkedArray) -> list:
    """A text column as Python strings, each distinct text one object (a column of a few
    labels is millions of references to a few strings, not millions of strings)."""
    encoded = pc.dictionary_encode(values.combine_chunks(), null_encoding="encode")
    distinct = np.array(encoded.dictionary.to_pylist(), dtype=object)
    return distinct[encoded.indices.to_numpy(zero_copy_only=False)].tolist()


# ---- PostgreSQL's COPY, text format (https://www.postgresql.org/docs/current/sql-copy.html)

_COPY_ESCAPES = (("\\", "\\\\"), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"))


def _postgres_copy(conn: sa.Connection, table: sa.Table) -> Callable[[pa.Table], None] | None:
    """A function writing rows by COPY into `table` on the connection's own cursor (so
    inside its transaction), for psycopg 2 and psycopg 3; None for another driver."""
    quote = conn.dialect.identifier_preparer
    columns = ", ".join(quote.quote(c.name) for c in table.columns)
    statement = f"COPY {quote.format_table(table)} ({columns}) FROM STDIN"
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    driver = conn.dialect.driver
    if driver == "psycopg2":
        # psycopg2 sends a float as a literal, -0.0 as -(0.0), which PostgreSQL reads as 0
        return lambda data: cursor.copy_expert(
            statement, io.StringIO(_copy_text(data, signed_zero=False))
        )
    if driver == "psycopg":

        def copy(data: pa.Table) -> None:
            with cursor.copy(statement) as out:
                out.write(_copy_text(data, signed_zero=True))

        return copy
    return None


def _copy_text(data: pa.Table, signed_zero: bool) -> str:
    """Rows as COPY's text format: tab-separated, \\N for null, backslash escapes; values
    as PostgreSQL reads back the very values the driver binds (floats in the shortest form
    that reads back exactly, -0.0 as 0 where the driver's INSERT stores 0; timestamps with
    their offset)."""
    if not data.num_rows:
        return ""
    fields = [_copy_field(column.combine_chunks(), signed_zero) for column in data.columns]
    lines = pc.binary_join_element_wise(*fields, pa.scalar("\t", pa.large_string()))
    whole = pa.LargeListArray.from_arrays(pa.array([0, len(lines)], pa.int64()), lines)
    return pc.binary_join(whole, pa.scalar("\n", pa.large_string()))[0].as_py() + "\n"


def _copy_field(values: pa.Array, signed_zero: bool) -> pa.Array:
    t = values.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        text = values.cast(pa.large_string())
        for old, new in _COPY_ESCAPES:
            text = pc.replace_substring(text, old, new)
    elif pa.types.is_boolean(t):
        text = pc.if_else(values, "t", "f")
    elif pa.types.is_timestamp(t):
        fmt = "%Y-%m-%d %H:%M:%S" + ("%z" if t.tz else "")
        text = pc.strftime(values.cast(pa.timestamp("us", t.tz)), fmt)
    elif pa.types.is_date(t):
        text = pc.strftime(values, "%Y-%m-%d")
    elif pa.types.is_floating(t):
        if not signed_zero:
            values = pc.if_else(pc.equal(values, 0), pa.scalar(0, t), values)
        text = values.cast(pa.string())  # the shortest text that reads back exactly
    elif pa.types.is_integer(t):
        text = values.cast(pa.string())
    else:
        raise TypeError(f"no COPY text for Arrow type {t}")
    return pc.fill_null(text.cast(pa.large_string()), "\\N")


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
            sql_data(data if isinstance(data, pa.Table) else to_table(data, schema), schema),
        )
        for key, (data, schema) in sorted(tables.items())
    ]
    written: dict[str, int] = {}
    for table, data in prepared:
        table.drop(conn, checkfirst=True)
        table.create(conn)
        written[table.name] = insert_rows(conn, table, data)
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
