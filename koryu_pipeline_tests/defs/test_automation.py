"""The nightly schedule and the raw-folder sensor, driven by Dagster's test contexts."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from dagster._core.storage.defs_state.base import set_defs_state_storage

from koryu_pipeline.codebook import Codebook, get_codebook, load_codebook
from koryu_pipeline.defs import build_assets, build_defs
from koryu_pipeline.defs.automation import nightly, raw_exports
from koryu_pipeline.defs.partitions import WAVES
from koryu_pipeline.settings import Settings
from koryu_pipeline_tests.exports import (
    base_hires,
    base_ministry,
    write_google_csv,
    write_msforms_xlsx,
)
from koryu_pipeline_tests.runs import forms_2024


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst


def _paths(tmp_path: Path) -> Settings:
    return Settings(raw_dir=str(tmp_path / "raw"), warehouse_dir=str(tmp_path / "wh"))


# The code location, built in-process once (as a code server builds it once); each test
# passes its own settings to the contexts it builds.
DEFS = build_defs(get_codebook(), Settings())


def _tick(instance: dg.DagsterInstance, paths: Settings, cursor: str | None):
    # as a context manager, so the context's resources (and instance state) are released
    with dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        repository_def=DEFS.get_repository_def(),
        resources={"settings": paths},
    ) as ctx:
        return raw_exports(ctx)


def test_schedule_is_0200_tokyo() -> None:
    sched = DEFS.resolve_schedule_def("nightly")
    assert sched.cron_schedule == "0 2 * * *"
    assert sched.execution_timezone == "Asia/Tokyo"


def test_schedule_requests_every_wave_whole_graph_last(tmp_path: Path, instance) -> None:
    paths = _paths(tmp_path)
    write_msforms_xlsx(tmp_path / "raw/ministry/2023/a.xlsx", [base_ministry()])
    write_msforms_xlsx(tmp_path / "raw/ministry/2024/a.xlsx", [base_ministry()])
    ctx = dg.build_schedule_context(
        instance=instance,
        scheduled_execution_time=datetime(2024, 1, 5, 2, 0, tzinfo=ZoneInfo("Asia/Tokyo")),
        resources={"settings": paths},
        repository_def=DEFS.get_repository_def(),
    )
    requests = nightly(ctx)
    assert [r.partition_key for r in requests] == ["2023", "2024"]
    graph = DEFS.resolve_asset_graph()
    executable = {k for k in graph.get_all_asset_keys() if graph.get(k).is_executable}
    assert set(requests[-1].asset_selection) == executable
    assert all(graph.get(k).partitions_def is not None for k in requests[0].asset_selection)
    assert set(instance.get_dynamic_partitions(WAVES.name)) == {"2023", "2024"}
    assert all(r.tags["koryu/lane"] == "warehouse" for r in requests)


def test_schedule_skips_without_exports(tmp_path: Path, instance) -> None:
    ctx = dg.build_schedule_context(
        instance=instance,
        resources={"settings": _paths(tmp_path)},
        repository_def=DEFS.get_repository_def(),
    )
    assert isinstance(nightly(ctx), dg.SkipReason)


def test_sensor_adds_wave_and_runs_only_changed_wave(tmp_path: Path, instance) -> None:
    paths = _paths(tmp_path)
    write_msforms_xlsx(tmp_path / "raw/ministry/2023/a.xlsx", [base_ministry()])
    first = _tick(instance, paths, None)
    assert [r.partition_key for r in first.run_requests] == ["2023"]
    assert first.dynamic_partitions_requests[0].partition_keys == ["2023"]

    # nothing changed: no run; the cursor is content, so re-writing the same bytes is no change
    instance.add_dynamic_partitions(WAVES.name, ["2023"])
    same = _tick(instance, paths, first.cursor)
    assert same.run_requests == []

    # a new wave folder: a partition and a run for that wave only
    write_google_csv(tmp_path / "raw/hires/2024/h.csv", [base_hires()])
    new_wave = _tick(instance, paths, same.cursor)
    assert [r.partition_key for r in new_wave.run_requests] == ["2024"]
    assert new_wave.dynamic_partitions_requests[0].partition_keys == ["2024"]
    instance.add_dynamic_partitions(WAVES.name, ["2024"])

    # a changed export in 2023: a run for 2023 only, with a new run key
    write_msforms_xlsx(tmp_path / "raw/ministry/2023/b.xlsx", [base_ministry(org_name="別の省")])
    changed = _tick(instance, paths, new_wave.cursor)
    assert [r.partition_key for r in changed.run_requests] == ["2023"]
    assert changed.run_requests[0].run_key != first.run_requests[0].run_key
    assert changed.dynamic_partitions_requests == []


def _schedule_tick(instance: dg.DagsterInstance, paths: Settings, day: int):
    with dg.build_schedule_context(
        instance=instance,
        scheduled_execution_time=datetime(2024, 12, day, 2, 0, tzinfo=ZoneInfo("Asia/Tokyo")),
        resources={"settings": paths},
        repository_def=DEFS.get_repository_def(),
    ) as ctx:
        return nightly(ctx)


def _execute(
    instance: dg.DagsterInstance, paths: Settings, codebook: Codebook, request: dg.RunRequest
) -> None:
    # A schedule context opens its own copy of the instance and leaves that copy's state
    # storage current after it is gone; the run uses the test's instance, as a daemon does.
    with set_defs_state_storage(instance.defs_state_storage):
        result = dg.materialize(
            build_assets(codebook),
            instance=instance,
            resources={"settings": paths},
            partition_key=request.partition_key,
            selection=request.asset_selection,
        )
    assert result.success


def test_nightly_runs_only_what_changed(tmp_path: Path, instance, monkeypatch) -> None:
    forms = forms_2024(tmp_path)
    monkeypatch.setenv("KORYU_CODEBOOK_DIR", str(forms))  # part of the code digest the plan keys on
    codebook = load_codebook(forms)
    paths = Settings(
        raw_dir=str(tmp_path / "raw"),
        warehouse_dir=str(tmp_path / "wh"),
        sql_url=f"sqlite:///{tmp_path / 'copy.sqlite'}",
    )
    write_google_csv(tmp_path / "raw/hires/2023/a.csv", [base_hires()])
    late = [base_hires(タイムスタンプ="2024/11/20 10:00:00")]
    write_google_csv(tmp_path / "raw/hires/2024/a.csv", late)

    first = _schedule_tick(instance, paths, 1)
    assert [r.partition_key for r in first] == ["2023", "2024"]
    for request in first:
        _execute(instance, paths, codebook, request)

    # the next night, nothing changed: no run at all
    assert isinstance(_schedule_tick(instance, paths, 2), dg.SkipReason)

    # an export of 2024 changes: 2024 and everything downstream, not 2023
    write_google_csv(
        tmp_path / "raw/hires/2024/a.csv", [*late, base_hires(タイムスタンプ="2024/11/21 10:00:00")]
    )
    third = _schedule_tick(instance, paths, 3)
    assert [r.partition_key for r in third] == ["2024"]
    graph = DEFS.resolve_asset_graph()
    executable = {k for k in graph.get_all_asset_keys() if graph.get(k).is_executable}
    assert set(third[0].asset_selection) == executable
