"""The Dagster instance `koryu run` sets up in its own default home (`.dagster/`).

Dagster's SQLite event log makes a new engine and connection for every statement it runs and
closes it after, and asks the index database's schema before each asset event: about 8 ms
per stored event, 200 events in a demo run. `PooledSqliteEventLogStorage` keeps each
database's connections open between calls (the index and the few run databases last used)
and remembers the schema facts that can only become true (a column added, a data migration
finished). A run database gets a passive checkpoint after each write, as Dagster's close
did: the UI follows a run live by watching that file, which WAL mode would otherwise
leave untouched until the run ends. Same files, same schema: a home can switch between this
class and Dagster's own at any time.

A deployment's own dagster.yaml (PostgreSQL, deploy/dagster.yaml.example) is never touched.
"""

from __future__ import annotations

import json
import os
import re
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
)
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine

# What an older koryu wrote into its default home: replaced, being ours and nothing else.
LEGACY_INSTANCE_YAML = "telemetry:\n  enabled: false\n"

_BASE_DIR = re.compile(r"^    base_dir: .*$", re.M)


def instance_yaml(home: Path) -> str:
    """The dagster.yaml `koryu run` writes into its default home."""
    runs = json.dumps(str(home.resolve() / "history" / "runs"), ensure_ascii=False)
    return f"""\
# Written by `koryu run` for its default home; yours to change (an edited file is kept).
telemetry:
  enabled: false
# Dagster's SQLite event log, in the same files, with its connections kept open between
# calls (koryu_pipeline/instance.py)
event_log_storage:
  module: {__name__}
  class: PooledSqliteEventLogStorage
  config:
    base_dir: {runs}
"""


def write_instance_yaml(home: Path) -> None:
    """Give a Dagster home koryu's instance settings, unless it has settings of its own: a
    missing file, an older koryu's, or ours for another folder (a moved home) is rewritten."""
    config = home / "dagster.yaml"
    wanted = instance_yaml(home)
    if config.exists():
        text = config.read_text(encoding="utf-8")
        ours = text == LEGACY_INSTANCE_YAML or _BASE_DIR.sub("", text) == _BASE_DIR.sub("", wanted)
        if text == wanted or not ours:
            return
    config.write_text(wanted, encoding="utf-8")


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's run-sharded SQLite event log, its connections kept open between calls."""

    KEPT_RUN_SHARDS = 4  # a run writes to its own; the UI may read a few at once

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_pid = os.getpid()
        self._known_true: set[tuple[str, str]] = set()
        super().__init__(base_dir, inst_data)

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {"base_dir": dg.StringSource}

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:  # as Dagster's: one statement at a time per storage object
            engine = self._engine(shard)
            with engine.connect() as conn:
                sqlite = conn.connection.driver_connection
                changes = sqlite.total_changes  # type: ignore[union-attr]
                with conn.begin():
                    yield conn
                if shard != INDEX_SHARD_NAME and sqlite.total_changes != changes:  # type: ignore[union-attr]
                    # a write: into the run's file, where a watch sees it (reads touch nothing)
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def _engine(self, shard: str) -> Engine:
        if self._engines_pid != os.getpid():  # forked: the parent's connections stay its own
            for engine in self._engines.values():
                engine.dispose(close=False)
            self._engines.clear()
            self._engines_pid = os.getpid()
        engine = self._engines.get(shard)
        if engine is None:
            # SQLAlchemy pools a file database's connections (QueuePool), across threads
            engine = create_engine(
                self.conn_string_for_shard(shard),
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
            if shard not in self._initialized_dbs:
                self._initdb(engine)  # as Dagster's _connect does, once per database
                self._initialized_dbs.add(shard)
            self._engines[shard] = engine
            runs = [s for s in self._engines if s != INDEX_SHARD_NAME]
            for old in runs[: max(0, len(runs) - self.KEPT_RUN_SHARDS)]:
                self._engines.pop(old).dispose()
        elif shard != INDEX_SHARD_NAME:
            self._engines.move_to_end(shard)
        return engine

    def _remember_true(self, kind: str, name: str, ask: Any) -> bool:
        # a column, once added, and a data migration, once finished, stay so: only "yes" is kept
        if (kind, name) in self._known_true:
            return True
        answer = bool(ask())
        if answer:
            self._known_true.add((kind, name))
        return answer

    def has_secondary_index(self, name: str) -> bool:
        base = super().has_secondary_index
        return self._remember_true("index", name, lambda: base(name))

    def _has_asset_key_col_on_connection(self, conn: Connection, column_name: str) -> bool:
        base = super()._has_asset_key_col_on_connection
        return self._remember_true("column", column_name, lambda: base(conn, column_name))

    def upgrade(self) -> None:
        super().upgrade()
        self._known_true.clear()

    def wipe(self) -> None:
        with self._db_lock:  # the run databases' files go: so do their connections
            for shard in [s for s in self._engines if s != INDEX_SHARD_NAME]:
                self._engines.pop(shard).dispose()
        super().wipe()
        self._known_true.clear()

    def dispose(self) -> None:
        super().dispose()
        if self._engines_pid == os.getpid():
            for engine in self._engines.values():
                engine.dispose()
        self._engines.clear()
