"""Publishing the warehouse to SQL only where it changed.

Two kinds of table, one transaction:

- whole tables (the marts, the dictionary): each one's digest -- the SHA-256 of its
  deterministic Parquet bytes and of its SQL definition -- is kept in the state table; a
  table whose digest moved (or that is missing) is dropped, re-created and filled;
- partitioned tables (the facts, the quarantine): one SQL table each, with `instrument` and
  `wave` as columns, kept per partition: a partition whose Parquet file changed has its rows
  deleted and inserted again, one that left the warehouse has its rows deleted, and the
  others are not touched. A changed definition (a new column, a new description) re-creates
  the whole table.

An unchanged run writes nothing to the database. The state is bookkeeping, kept out of the
analysts' way: in its own schema `koryu_internal` on PostgreSQL, in the table
`_koryu_publish_state` where there are no schemas (SQLite).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import sqlalchemy as sa

from koryu_pipeline.codebook import Codebook, wave_number
from koryu_pipeline.warehouse.frames import to_table
from koryu_pipeline.warehouse.parquet import (
    list_partitions,
    parquet_bytes,
    partition_path,
    read_partition_table,
)
from koryu_pipeline.warehouse.sql import (
    definition,
    engine_for,
    insert_rows,
    replace_tables,
    sql_data,
    sql_table,
    sql_table_name,
)
from koryu_pipeline.warehouse.tables import TableSpec, partition_schema

STATE_SCHEMA = "koryu_internal"  # PostgreSQL: the bookkeeping's own schema ...
STATE_TABLE = "publish_state"
STATE_TABLE_FLAT = "_koryu_publish_state"  # ... elsewhere one prefixed table
LEGACY_STATE_TABLE = "koryu_publish_state"  # where versions before issue 10 kept it
WHOLE = ""  # the state row of a whole table (or a partitioned table's definition)

Data = pd.DataFrame | pa.Table


@dataclass(frozen=True)
class Partition:
    """One partition of a partitioned table, as the SQL copy needs it."""

    instrument: str
    wave: str
    digest: str  # of its Parquet file's bytes
    read: Callable[[], pa.Table]  # its rows, instrument and wave as columns

    @property
    def name(self) -> str:
        return f"instrument={self.instrument}/wave={self.wave}"


@dataclass
class PublishResult:
    url_safe: str
    replaced: list[str] = field(default_factory=list)  # tables dropped and re-created
    unchanged: list[str] = field(default_factory=list)
    partitions_replaced: list[str] = field(default_factory=list)  # "<table> <partition>"
    partitions_removed: list[str] = field(default_factory=list)


def state_table(metadata: sa.MetaData, dialect: str) -> sa.Table:
    named = (
        {"name": STATE_TABLE, "schema": STATE_SCHEMA}
        if dialect == "postgresql"
        else {"name": STATE_TABLE_FLAT}
    )
    return sa.Table(
        named["name"],
        metadata,
        sa.Column("table_name", sa.String(200), primary_key=True),
        sa.Column("part", sa.String(200), primary_key=True, comment="'' for a whole table"),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("row_count", sa.Integer, nullable=False),
        schema=named.get("schema"),
        comment="koryu's bookkeeping: the digest of each published table and partition, so "
        "that an unchanged one is not rewritten. Not for analysis.",
    )


def digest(frame: pd.DataFrame, schema: pa.Schema) -> str:
    return digest_bytes(parquet_bytes(to_table(frame, schema)))


def digest_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _digest_text(*parts: str) -> str:
    return digest_bytes("\n".join(parts).encode())


def partitions_on_disk(
    codebook: Codebook, root: Path, table: str, schema: pa.Schema
) -> list[Partition]:
    """Every partition of `table` under `root`, digested; rows read only when asked for."""
    out = []
    for instrument, wave in list_partitions(root, table):
        if not partition_schema(codebook, table, instrument, wave).equals(schema):
            # the staging tables' columns follow each form: they stay in Parquet
            raise ValueError(f"{table}: one SQL table needs one schema for every partition")
        data = partition_path(root, table, instrument, wave).read_bytes()

        def read(i: str = instrument, w: str = wave) -> pa.Table:
            return read_partition_table(root, table, i, w, schema)

        out.append(Partition(instrument, wave, digest_bytes(data), read))
    return out


class _State:
    """The state table on one connection."""

    def __init__(self, conn: sa.Connection, table: sa.Table) -> None:
        self.conn, self.table = conn, table
        if table.schema:
            conn.execute(sa.schema.CreateSchema(table.schema, if_not_exists=True))
        table.create(conn, checkfirst=True)
        # versions before issue 10 kept it among the analysts' tables
        sa.Table(LEGACY_STATE_TABLE, sa.MetaData()).drop(conn, checkfirst=True)
        rows = conn.execute(sa.select(table))
        self.known = {(r.table_name, r.part): r.digest for r in rows}

    def forget(self, name: str, part: str | None = None) -> None:
        """Drop the state of a table (every part) or of one part."""
        t = self.table
        where = [t.c.table_name == name] + ([t.c.part == part] if part is not None else [])
        self.conn.execute(sa.delete(t).where(*where))

    def record(self, name: str, part: str, value: str, rows: int) -> None:
        self.forget(name, part)
        self.conn.execute(
            sa.insert(self.table).values(table_name=name, part=part, digest=value, row_count=rows)
        )


def publish_marts(
    url: str,
    tables: Mapping[str, tuple[Data, pa.Schema]],
    digests: Mapping[str, str] | None = None,
    *,
    partitioned: Mapping[str, tuple[pa.Schema, Sequence[Partition]]] | None = None,
    specs: Mapping[str, TableSpec] | None = None,
) -> PublishResult:
    """Bring the SQL copy at `url` up to date in one transaction: the whole `tables` whose
    content changed (or that are missing), and the partitions of the `partitioned` tables
    that changed. `digests` may carry each whole table's content digest when the caller
    already has its bytes (the tables may then come as the Arrow tables built for them);
    `specs` (the registry's entries) give the tables' and columns' comments."""
    engine = engine_for(url)
    result = PublishResult(url_safe=engine.url.render_as_string(hide_password=True))
    specs = specs or {}
    wanted: dict[str, str] = {}
    for key, (frame, schema) in tables.items():
        content = (digests or {}).get(key) or digest(frame, schema)  # type: ignore[arg-type]
        wanted[key] = _whole_digest(key, schema, content, specs.get(key))
    try:
        with engine.begin() as conn:
            state = _State(conn, state_table(sa.MetaData(), engine.dialect.name))
            present = set(sa.inspect(conn).get_table_names())
            todo = {
                key: tables[key]
                for key in sorted(tables)
                if state.known.get((sql_table_name(key), WHOLE)) != wanted[key]
                or sql_table_name(key) not in present
            }
            replace_tables(conn, todo, specs)
            for key, (frame, _) in todo.items():
                state.record(sql_table_name(key), WHOLE, wanted[key], len(frame))
            result.replaced = [sql_table_name(k) for k in todo]
            result.unchanged = [sql_table_name(k) for k in sorted(tables) if k not in todo]
            for key, (schema, parts) in sorted((partitioned or {}).items()):
                table = sql_table(key, schema, sa.MetaData(), specs.get(key))
                _publish_partitioned(conn, state, table, schema, parts, present, result)
    finally:
        engine.dispose()
    return result


def published_mismatches(
    url: str,
    whole: Mapping[str, tuple[pa.Schema, str]],
    partitioned: Mapping[str, Sequence[Partition]],
    specs: Mapping[str, TableSpec],
) -> list[str]:
    """What the SQL copy lacks against the warehouse on disk: a whole table (key -> its
    schema and its Parquet file's digest) or a partition whose recorded digest differs, or a
    table missing. A database that cannot be read is one problem, not an error: the run
    that follows says why it fails."""
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            st = state_table(sa.MetaData(), engine.dialect.name)
            inspector = sa.inspect(conn)
            if not inspector.has_table(st.name, schema=st.schema):
                return ["its bookkeeping table is missing"]
            present = set(inspector.get_table_names())
            known = {(r.table_name, r.part): r.digest for r in conn.execute(sa.select(st))}
    except sa.exc.SQLAlchemyError as exc:
        return [f"cannot be read ({type(exc).__name__})"]
    finally:
        engine.dispose()
    out = []
    for key, (schema, content) in sorted(whole.items()):
        name = sql_table_name(key)
        if name not in present:
            out.append(f"{name} missing")
        elif known.get((name, WHOLE)) != _whole_digest(key, schema, content, specs.get(key)):
            out.append(f"{name} differs from its Parquet file")
    for key, parts in sorted(partitioned.items()):
        name = sql_table_name(key)
        if name not in present:
            out.append(f"{name} missing")
            continue
        out += [
            f"{name} {p.name} differs from its Parquet file"
            for p in parts
            if known.get((name, p.name)) != p.digest
        ]
    return out


def _whole_digest(key: str, schema: pa.Schema, content: str, spec: TableSpec | None) -> str:
    """What the state records for a whole table: its content and its SQL definition (so a
    changed comment or type re-creates it)."""
    shape = definition(sql_table(key, schema, sa.MetaData(), spec))
    return _digest_text(content, shape)


def _delete_partition(
    conn: sa.Connection, table: sa.Table, instrument: str, wave: str, alone: bool = False
) -> None:
    """Delete one partition's rows. `alone`: the bookkeeping says the table holds no other
    partition; when no row says otherwise, one DELETE without a condition takes every row,
    which SQLite does a page at a time (its truncate optimisation), not a row at a time."""
    here = sa.and_(table.c.instrument == instrument, table.c.wave == wave_number(wave))
    if alone:
        other = sa.select(sa.literal(1)).where(sa.case((here, 0), else_=1) == 1).limit(1)
        if conn.execute(other.select_from(table)).first() is None:
            conn.execute(sa.delete(table))
            return
    conn.execute(sa.delete(table).where(here))


def _publish_partitioned(
    conn: sa.Connection,
    state: _State,
    table: sa.Table,
    schema: pa.Schema,
    parts: Sequence[Partition],
    present: set[str],
    result: PublishResult,
) -> None:
    """One partitioned table: only its changed partitions' rows are replaced."""
    name = table.name
    shape = _digest_text(definition(table))
    had = {part: d for (t, part), d in state.known.items() if t == name and part != WHOLE}
    if state.known.get((name, WHOLE)) != shape or name not in present:
        table.drop(conn, checkfirst=True)
        table.create(conn)
        state.forget(name)  # nothing of the old table is left
        had = {}
        state.record(name, WHOLE, shape, 0)
        result.replaced.append(name)
    else:
        result.unchanged.append(name)
    on_disk = {p.name: p for p in parts}
    for part, p in sorted(on_disk.items()):
        if had.get(part) == p.digest:
            continue
        _delete_partition(conn, table, p.instrument, p.wave, alone=set(had) <= {part})
        rows = insert_rows(conn, table, sql_data(p.read(), schema))
        state.record(name, part, p.digest, rows)
        result.partitions_replaced.append(f"{name} {part}")
    for part in sorted(set(had) - set(on_disk)):
        instrument, wave = (kv.split("=", 1)[1] for kv in part.split("/"))
        _delete_partition(conn, table, instrument, wave)
        state.forget(name, part)
        result.partitions_removed.append(f"{name} {part}")
