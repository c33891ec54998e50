"""Publishing the marts to SQL only where they changed.

Each table's content digest (the SHA-256 of its deterministic Parquet bytes) is kept in the
table `koryu_publish_state`; a run replaces exactly the tables whose digest moved (or that
are missing), together with their state rows, in one transaction. An unchanged re-run writes
nothing to the database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa
import sqlalchemy as sa

from koryu_pipeline.warehouse.frames import to_table
from koryu_pipeline.warehouse.parquet import parquet_bytes
from koryu_pipeline.warehouse.sql import engine_for, replace_tables, sql_table_name

STATE_TABLE = "koryu_publish_state"


@dataclass
class PublishResult:
    url_safe: str
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def _state_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        STATE_TABLE,
        metadata,
        sa.Column("table_name", sa.String(200), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("row_count", sa.Integer, nullable=False),
    )


def digest(frame: pd.DataFrame, schema: pa.Schema) -> str:
    return digest_bytes(parquet_bytes(to_table(frame, schema)))


def digest_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def publish_marts(
    url: str,
    tables: Mapping[str, tuple[pd.DataFrame | pa.Table, pa.Schema]],
    digests: Mapping[str, str] | None = None,
) -> PublishResult:
    """Replace the tables whose content changed (or that are missing) in one transaction.
    `digests` may carry each table's digest when the caller already has its bytes (and the
    tables may then come as the Arrow tables built for them)."""
    engine = engine_for(url)
    result = PublishResult(url_safe=engine.url.render_as_string(hide_password=True))
    metadata = sa.MetaData()
    state = _state_table(metadata)
    digests = dict(digests or {})
    for key, (frame, schema) in tables.items():
        if key not in digests:
            digests[key] = digest(frame, schema)  # type: ignore[arg-type]
    try:
        with engine.begin() as conn:
            state.create(conn, checkfirst=True)
            known = {r.table_name: r.digest for r in conn.execute(sa.select(state))}
            present = set(sa.inspect(conn).get_table_names())
            todo = {
                key: tables[key]
                for key in sorted(tables)
                if known.get(sql_table_name(key)) != digests[key]
                or sql_table_name(key) not in present
            }
            replace_tables(conn, todo)
            for key, (frame, _) in todo.items():
                name = sql_table_name(key)
                conn.execute(sa.delete(state).where(state.c.table_name == name))
                conn.execute(
                    sa.insert(state).values(
                        table_name=name, digest=digests[key], row_count=len(frame)
                    )
                )
            result.replaced = [sql_table_name(k) for k in todo]
            result.unchanged = [sql_table_name(k) for k in sorted(tables) if k not in todo]
    finally:
        engine.dispose()
    return result


def published_mismatches(url: str, digests: Mapping[str, str]) -> list[str]:
    """What the SQL copy lacks against `digests` (key -> the content digest it should hold):
    a table missing, or recorded with another digest. A database that cannot be reached is
    one problem, not an error: the run that follows says why it failed."""
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            present = set(sa.inspect(conn).get_table_names())
            if STATE_TABLE not in present:
                return [f"{STATE_TABLE} missing"]
            state = _state_table(sa.MetaData())
            known = {r.table_name: r.digest for r in conn.execute(sa.select(state))}
    except sa.exc.SQLAlchemyError as exc:
        return [f"cannot be read ({type(exc).__name__})"]
    finally:
        engine.dispose()
    out = []
    for key, digest in sorted(digests.items()):
        name = sql_table_name(key)
        if name not in present:
            out.append(f"{name} missing")
        elif known.get(name) != digest:
            out.append(f"{name} differs from its Parquet file")
    return out
