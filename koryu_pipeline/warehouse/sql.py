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
written by Arrow, one COPY a table) through psycopg 2 or 3; SQLite's executemany of INSERTs
of many rows each, a value the same throughout a chunk written once into the statement;
elsewhere executemany of plain tuples. The values stored are those SQLAlchemy's own INSERT
stores (koryu_pipeline_tests/warehouse/test_sql.py compares them).
"""

from __future__ import annotations

import contextlib
import math
import os
import sqlite3
from collections.abc import Callable, Iterator, Mapping
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
ROWS_PER_STATEMENT = 100  # SQLite: rows a statement (sqlite3 costs ~0.5 us a statement run)
# SQLite's page cache for the copy's connection (2 MiB by default): a transaction that
# outgrows it writes pages out early, each time syncing the journal first.
SQLITE_CACHE_KIB = 64 * 1024


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
    through psycopg 2 or 3: COPY, the rows written as its text format by Arrow; SQLite:
    INSERTs of ROWS_PER_STATEMENT rows each; elsewhere one executemany per chunk. The
    values are bound as SQLAlchemy binds them (its bind processors, or their vectorised
    equals). Returns the rows written."""
    dialect = conn.dialect
    copy = _postgres_copy(conn, table) if dialect.name == "postgresql" else None
    if copy:
        copy(_chunks(data, INSERT_CHUNK))
        return data.num_rows
    if dialect.name == "sqlite" and dialect.driver == "pysqlite":
        write = _sqlite_insert(conn, table)
    else:
        write = _positional_insert(conn, table)
    for chunk in _chunks(data, INSERT_CHUNK):
        if write:
            write(chunk)
        else:  # a driver with named parameters only: through SQLAlchemy
            conn.execute(table.insert(), chunk.to_pylist())
    return data.num_rows


def _chunks(data: pa.Table, size: int) -> Iterator[pa.Table]:
    for start in range(0, data.num_rows, size):
        yield data.slice(start, size)


def _sqlite_insert(conn: sa.Connection, table: sa.Table) -> Callable[[pa.Table], None]:
    """Rows into SQLite by executemany of `INSERT ... VALUES (...), (...), ...` with
    ROWS_PER_STATEMENT rows a statement (in their order; the last few by one more
    statement): the sqlite3 module's cost is mostly per statement run, then per value
    bound. So a column holding one integer, text or null throughout a chunk (a partition's
    instrument and wave, a form's unasked attributes) is written into the statement as
    that literal, not bound on every row; nulls are bound as NaN where SQLite stores a
    bound NaN as NULL (`_sqlite_null`)."""
    dialect = conn.dialect
    dbapi = conn.connection.dbapi_connection
    cursor = dbapi.cursor()  # type: ignore[union-attr]
    null = _sqlite_null(cursor)
    limit = dbapi.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)  # type: ignore[union-attr]
    quote = dialect.identifier_preparer
    columns = ", ".join(quote.quote(c.name) for c in table.columns)
    head = f"INSERT INTO {quote.format_table(table)} ({columns}) VALUES "

    def write(data: pa.Table) -> None:
        literals = [
            _sqlite_literal(data.column(i), c, dialect) for i, c in enumerate(table.columns)
        ]
        row = "(" + ", ".join(lit or "?" for lit in literals) + ")"
        bound = [i for i, lit in enumerate(literals) if lit is None]
        cells = (
            _cells(data.select(bound), [table.columns[i] for i in bound], dialect, null)
            if bound
            else np.empty((data.num_rows, 0), dtype=object)  # every value in the statement
        )
        per = max(1, min(ROWS_PER_STATEMENT, limit // max(len(bound), 1)))
        whole = len(cells) - len(cells) % per
        if whole:
            params = cells[:whole].reshape(whole // per, per * len(bound)).tolist()
            cursor.executemany(head + ", ".join([row] * per), params)
        if whole < len(cells):
            rest = cells[whole:].ravel().tolist()
            cursor.execute(head + ", ".join([row] * (len(cells) - whole)), rest)

    return write


def _sqlite_null(cursor: sqlite3.Cursor) -> object:
    """What to bind for NULL on SQLite: NaN, which SQLite stores as NULL (it never stores a
    NaN), and which the sqlite3 module binds as any float, whereas it first offers None to
    its adapters -- most of a null's cost. Asked of the library itself; None otherwise."""
    (stored,) = cursor.execute("SELECT typeof(?)", (math.nan,)).fetchone()
    return math.nan if stored == "null" else None


def _sqlite_literal(values: pa.ChunkedArray, column: sa.Column, dialect: sa.Dialect) -> str | None:
    """The SQLite literal of the one value a text or integer column holds throughout
    `values` (null, or one integer, or one text), where the literal stores what binding
    stores: no bind processor, a signed 64-bit integer (not -2**63, whose literal is a
    minus applied to 2**63), a text without NUL. None otherwise."""
    t = values.type
    text = pa.types.is_string(t) or pa.types.is_large_string(t)
    if not (text or pa.types.is_integer(t)) or not len(values):
        return None
    if column.type.dialect_impl(dialect).bind_processor(dialect) is not None:
        return None
    if values.null_count == len(values):
        return "NULL"
    if values.null_count:
        return None
    first = values[0].as_py()
    if values[-1].as_py() != first:  # most columns that vary differ at their ends
        return None
    if text:
        same = pc.all(pc.equal(values, pa.scalar(first, t))).as_py()
        return "'" + first.replace("'", "''") + "'" if same and "\x00" not in first else None
    low, high = (v.as_py() for v in pc.min_max(values).values())
    return str(first) if low == high and -(2**63) < first < 2**63 else None


def _positional_insert(conn: sa.Connection, table: sa.Table) -> Callable[[pa.Table], None] | None:
    """executemany of one row's INSERT on the driver's cursor; None when the driver's
    parameters are not positional."""
    dialect = conn.dialect
    if not dialect.positional:
        return None
    statement = str(table.insert().compile(dialect=dialect))
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    columns = list(table.columns)
    return lambda data: cursor.executemany(
        statement, list(map(tuple, _cells(data, columns, dialect, None).tolist()))
    )


def _cells(
    data: pa.Table, columns: list[sa.Column], dialect: sa.Dialect, null: object
) -> np.ndarray:
    """`data` (`columns`' values) as a (rows, columns) array of the Python values bound,
    made column by column; `null` for a null."""
    cells = np.empty((data.num_rows, data.num_columns), dtype=object)
    for i, column in enumerate(columns):
        cells[:, i] = _bind_values(data.column(i), column, dialect, null)
    return cells


def _bind_values(
    values: pa.ChunkedArray, column: sa.Column, dialect: sa.Dialect, null: object = None
) -> np.ndarray:
    """A column's values as SQLAlchemy binds them on `dialect` (an object array, `null` for
    a null): its bind processor applied to each value, or a vectorised equal where one is
    known (text as Arrow makes it, numbers as numpy makes them, flags as 0/1 where the
    database has no boolean, SQLite's timestamps as SQLAlchemy formats them)."""
    impl = column.type.dialect_impl(dialect)
    process = impl.bind_processor(dialect)
    arrow = values.type
    if (pa.types.is_string(arrow) or pa.types.is_large_string(arrow)) and process is None:
        return _texts(values, null)
    if pa.types.is_boolean(arrow) and isinstance(impl, sa.Boolean):
        # Boolean's processor: bool(v) with a native boolean, int(v) without
        return _numbers(values if dialect.supports_native_boolean else values.cast(pa.int8()), null)
    if _exact_number(arrow) and process is None:
        return _numbers(values, null)
    if pa.types.is_timestamp(arrow) and _sqlite_datetime(impl) and arrow.tz in (None, "UTC"):
        # DATETIME's processor: "%Y-%m-%d %H:%M:%S.%f" of the value as it stands
        text = _timestamp_text(values)
        return _with_null(text.to_numpy(zero_copy_only=False), text, null)
    out = np.empty(len(values), dtype=object)  # nulls as the processor binds them
    out[:] = values.to_pylist() if process is None else [process(v) for v in values.to_pylist()]
    return out


def _exact_number(t: pa.DataType) -> bool:
    """Types numpy turns into the very Python values Arrow's to_pylist gives."""
    return pa.types.is_integer(t) or pa.types.is_float32(t) or pa.types.is_float64(t)


def _numbers(values: pa.ChunkedArray, null: object) -> np.ndarray:
    """Numbers (or flags) as Python ints, floats or bools, by numpy; nulls filled first so
    that numpy keeps every integer exact (a null would make the column float)."""
    filled = values.fill_null(0) if values.null_count else values
    return _with_null(filled.to_numpy().astype(object), values, null)


def _texts(values: pa.ChunkedArray, null: object) -> np.ndarray:
    """A text column as Python strings, each distinct text one object (a column of a few
    labels is millions of references to a few strings, not millions of strings, each
    encoded to UTF-8 once)."""
    encoded = pc.dictionary_encode(values.combine_chunks(), null_encoding="encode")
    distinct = _with_null(
        np.array(encoded.dictionary.to_pylist(), dtype=object), encoded.dictionary, null
    )
    return distinct[encoded.indices.to_numpy(zero_copy_only=False)]


def _with_null(out: np.ndarray, values: pa.Array | pa.ChunkedArray, null: object) -> np.ndarray:
    """`out` (the values of `values`, in order) with `null` where `values` is null."""
    if values.null_count:
        out[values.is_null().to_numpy(zero_copy_only=False)] = null
    return out


def _sqlite_datetime(impl: sa.types.TypeEngine) -> bool:
    return (
        isinstance(impl, sqlite.DATETIME)
        and impl._storage_format == sqlite.DATETIME._storage_format
    )


# ---- PostgreSQL's COPY, text format (https://www.postgresql.org/docs/current/sql-copy.html)

_COPY_ESCAPES = (("\\", "\\\\"), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"))
# psycopg2 reads COPY's source in pieces of this many bytes (8 KiB unless told)
COPY_BUFFER = 1 << 20


def _postgres_copy(
    conn: sa.Connection, table: sa.Table
) -> Callable[[Iterator[pa.Table]], None] | None:
    """A function writing chunks of rows by one COPY into `table` on the connection's own
    cursor (so inside its transaction), for psycopg 2 and psycopg 3; None for another
    driver. The server reads one chunk while Arrow writes the next. The text goes as
    Arrow's UTF-8 bytes where the connection's encoding is UTF-8 (as the driver would
    encode it), else as a string the driver encodes."""
    quote = conn.dialect.identifier_preparer
    columns = ", ".join(quote.quote(c.name) for c in table.columns)
    statement = f"COPY {quote.format_table(table)} ({columns}) FROM STDIN"
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    driver = conn.dialect.driver
    if driver == "psycopg2":
        utf8 = cursor.connection.encoding == "UTF8"

        def copy2(chunks: Iterator[pa.Table]) -> None:
            # psycopg2 sends a float as a literal, -0.0 as -(0.0), which PostgreSQL reads as 0
            texts = (_copy_text(chunk, signed_zero=False) for chunk in chunks)
            source = _Pieces(texts if utf8 else (text.decode() for text in texts))
            cursor.copy_expert(statement, source, size=COPY_BUFFER)

        return copy2
    if driver == "psycopg":
        utf8 = cursor.connection.info.encoding == "utf-8"

        def copy(chunks: Iterator[pa.Table]) -> None:
            with cursor.copy(statement) as out:
                for chunk in chunks:
                    text = _copy_text(chunk, signed_zero=True)
                    out.write(text if utf8 else text.decode())

        return copy
    return None


class _Pieces:
    """A file to read from (psycopg2's copy_expert reads COPY's data so): the pieces, in
    order, made as they are read."""

    def __init__(self, pieces: Iterator[bytes] | Iterator[str]) -> None:
        self.pieces = pieces
        self.rest: bytes | str = b""

    def read(self, size: int = -1) -> bytes | str:
        while not self.rest:
            piece = next(self.pieces, None)
            if piece is None:
                return self.rest
            self.rest = piece
        if size < 0:
            size = len(self.rest)
        out, self.rest = self.rest[:size], self.rest[size:]
        return out


def _copy_text(data: pa.Table, signed_zero: bool) -> bytes:
    """Rows as COPY's text format, UTF-8: tab-separated, \\N for null, backslash escapes;
    values as PostgreSQL reads back the very values the driver binds (floats in the
    shortest form that reads back exactly, -0.0 as 0 where the driver's INSERT stores 0;
    timestamps with their offset)."""
    if not data.num_rows:
        return b""
    fields = [_copy_field(column.combine_chunks(), signed_zero) for column in data.columns]
    lines = pc.binary_join_element_wise(*fields, pa.scalar("\t", pa.large_string()))
    lines = pa.concat_arrays([lines, pa.array([""], pa.large_string())])  # a last newline
    whole = pa.LargeListArray.from_arrays(pa.array([0, len(lines)], pa.int64()), lines)
    return pc.binary_join(whole, pa.scalar("\n", pa.large_string()))[0].as_buffer().to_pybytes()


def _copy_field(values: pa.Array, signed_zero: bool) -> pa.Array:
    t = values.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        text = values.cast(pa.large_string())
        if _needs_escape(text):
            for old, new in _COPY_ESCAPES:
                text = pc.replace_substring(text, old, new)
    elif pa.types.is_boolean(t):
        text = pc.if_else(values, "t", "f")
    elif pa.types.is_timestamp(t):
        text = _timestamp_text(values)
        if text is None:
            text = pc.strftime(values.cast(pa.timestamp("us", t.tz)), "%Y-%m-%d %H:%M:%S%z")
        elif t.tz:  # UTC, as strftime's %z writes it
            text = pc.binary_join_element_wise(text, "+0000", "")
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


def _needs_escape(text: pa.LargeStringArray) -> bool:
    """Whether a value holds a character COPY escapes -- most columns hold none. Read off
    the values' UTF-8 bytes at once (no byte of a multi-byte character is below 0x80)."""
    data = text.buffers()[2]
    if not len(text) or data is None:
        return False
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)
    raw = data[offsets[text.offset] : offsets[text.offset + len(text)]].to_pybytes()
    return any(old.encode() in raw for old, _ in _COPY_ESCAPES)


def _timestamp_text(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray | None:
    """A naive or UTC timestamp as "%Y-%m-%d %H:%M:%S.%f" of its UTC wall time, made by
    Arrow's cast (what strftime makes, twenty times faster); None for another zone."""
    t = values.type
    if t.tz not in (None, "UTC"):
        return None
    return values.cast(pa.timestamp("us", t.tz)).cast(pa.timestamp("us")).cast(pa.string())


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

        @sa.event.listens_for(engine, "connect")
        def _cache(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            dbapi_conn.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")

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
