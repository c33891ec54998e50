"""The instance `koryu run` sets up: its dagster.yaml, and an event log that keeps its
connections yet stores what Dagster's own stores, readable by Dagster's own, and still wakes
the UI's watch on a run."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import dagster as dg
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from koryu_pipeline.instance import (
    LEGACY_INSTANCE_YAML,
    PooledSqliteEventLogStorage,
    instance_yaml,
    write_instance_yaml,
)


def _home(tmp_path: Path, name: str, text: str | None = None) -> Path:
    home = tmp_path / name
    home.mkdir()
    (home / "dagster.yaml").write_text(text or instance_yaml(home), encoding="utf-8")
    return home


@dg.asset
def upstream() -> int:
    return 1


@dg.asset
def downstream(upstream: int) -> int:
    return upstream + 1


def _materialise(home: Path, monkeypatch) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    instance = dg.DagsterInstance.get()
    try:
        result = dg.materialize([upstream, downstream], instance=instance)
        assert result.success
        kinds = [_kind(e) for e in instance.all_logs(result.run_id)]
        return result.run_id, kinds
    finally:
        instance.dispose()


def test_write_instance_yaml_only_where_it_is_ours(tmp_path: Path) -> None:
    def written(home: Path) -> str:
        write_instance_yaml(home)
        return (home / "dagster.yaml").read_text(encoding="utf-8")

    fresh = tmp_path / "fresh"
    fresh.mkdir()
    assert written(fresh) == instance_yaml(fresh)
    assert f'base_dir: "{fresh}/history/runs"' in instance_yaml(fresh)

    legacy = _home(tmp_path, "legacy", LEGACY_INSTANCE_YAML)  # what an older koryu wrote
    assert written(legacy) == instance_yaml(legacy)

    moved = _home(tmp_path, "moved", instance_yaml(tmp_path / "before the move"))
    assert written(moved) == instance_yaml(moved)

    edited = instance_yaml(tmp_path / "edited").replace("enabled: false", "enabled: true")
    for own in ("telemetry:\n  enabled: true\n", edited):
        theirs = _home(tmp_path, f"theirs{len(own)}", own)
        assert written(theirs) == own


def test_the_home_gets_the_pooled_store_under_history_runs(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    home = _home(tmp_path, "home")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    instance = dg.DagsterInstance.get()
    try:
        storage = instance.event_log_storage
        assert type(storage) is PooledSqliteEventLogStorage
        assert Path(storage._base_dir) == home / "history" / "runs"
    finally:
        instance.dispose()


def test_dagster_reads_what_the_pooled_store_wrote(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The same run through the pooled store and through Dagster's own stores the same kinds
    of events; and Dagster's own, opened on the pooled home, reads back that run's events,
    materialisations (with the input provenance the second asset recorded) and asset keys."""
    pooled = _home(tmp_path, "pooled")
    plain = _home(tmp_path, "plain", LEGACY_INSTANCE_YAML)
    run_id, pooled_kinds = _materialise(pooled, monkeypatch)
    _, plain_kinds = _materialise(plain, monkeypatch)
    assert pooled_kinds == plain_kinds

    (pooled / "dagster.yaml").write_text(LEGACY_INSTANCE_YAML, encoding="utf-8")
    monkeypatch.setenv("DAGSTER_HOME", str(pooled))
    instance = dg.DagsterInstance.get()
    try:
        assert type(instance.event_log_storage) is SqliteEventLogStorage
        assert [_kind(e) for e in instance.all_logs(run_id)] == pooled_kinds
        records = {r.asset_entry.asset_key: r for r in instance.get_asset_records()}
        assert set(records) == {dg.AssetKey("upstream"), dg.AssetKey("downstream")}
        last = records[dg.AssetKey("downstream")].asset_entry.last_materialization
        assert last is not None and last.run_id == run_id
        up_event = records[dg.AssetKey("upstream")].asset_entry.last_materialization_record
        tags = last.dagster_event.materialization.tags  # type: ignore[union-attr]
        assert tags["dagster/input_event_pointer/upstream"] == str(up_event.storage_id)  # type: ignore[union-attr]
    finally:
        instance.dispose()


def test_a_watch_on_a_run_wakes_while_the_pooled_store_keeps_its_connection(
    tmp_path: Path,
) -> None:
    """The UI follows a run by watching its database file; the writer's connection stays open
    (WAL mode), so only its checkpoint after each write touches that file."""
    base = str(tmp_path / "runs")
    writer = PooledSqliteEventLogStorage(base)
    reader = SqliteEventLogStorage(base)  # as the webserver, another store on the same files
    run_id = "0f0f0f0f-0000-4000-8000-000000000001"
    got: list[str] = []
    woke = threading.Event()

    def seen(entry: EventLogEntry, _cursor: str) -> None:
        got.append(entry.user_message)
        if len(got) == 3:
            woke.set()

    try:
        writer.store_event(_log(run_id, "first"))  # the run's database exists before the watch
        reader.watch(run_id, None, seen)
        for message in ("second", "third"):
            time.sleep(0.2)  # the watcher sees separate file changes
            writer.store_event(_log(run_id, message))
        assert woke.wait(20), f"the watch saw {got}"
        assert got == ["first", "second", "third"]
        assert set(writer._engines) <= {run_id, "index"}  # one engine per database, reused
    finally:
        reader.end_watch(run_id, seen)
        reader.dispose()
        writer.dispose()


def test_the_pooled_store_keeps_few_run_databases_open(tmp_path: Path) -> None:
    storage = PooledSqliteEventLogStorage(str(tmp_path / "runs"))
    try:
        runs = [f"0f0f0f0f-0000-4000-8000-{n:012d}" for n in range(7)]
        for run_id in runs:
            storage.store_event(_log(run_id, "x"))
        storage.get_asset_records()  # the index database
        kept = storage.KEPT_RUN_SHARDS
        assert set(storage._engines) == {*runs[-kept:], "index"}
        for run_id in runs:  # the evicted ones reopen when asked
            assert [
                r.event_log_entry.user_message for r in storage.get_records_for_run(run_id).records
            ] == ["x"]
    finally:
        storage.dispose()
    assert not storage._engines


def _log(run_id: str, message: str) -> EventLogEntry:
    return EventLogEntry(
        error_info=None,
        level="INFO",
        user_message=message,
        run_id=run_id,
        timestamp=time.time(),
    )


def _kind(entry: EventLogEntry) -> str:
    return entry.dagster_event_type.value if entry.dagster_event_type else "log"
