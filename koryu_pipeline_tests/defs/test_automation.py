"""The nightly schedule and the raw-folder sensor, driven by Dagster's test contexts. Both
plan as `koryu run` does: right after a run, nothing is asked for."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
import yaml
from dagster._core.storage.defs_state.base import set_defs_state_storage

from koryu_pipeline.codebook import Codebook, get_codebook, load_codebook
from koryu_pipeline.defs import JOB_NAME, build_assets, build_defs
from koryu_pipeline.defs.automation import LANE, nightly, raw_exports
from koryu_pipeline.defs.partitions import wave_keys
from koryu_pipeline.settings import Settings
from koryu_pipeline_tests.exports import (
    base_hires,
    base_ministry,
    write_google_csv,
    write_msforms_xlsx,
)
from koryu_pipeline_tests.runs import ROOT, forms_2024


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst


def _paths(tmp_path: Path) -> Settings:
    return Settings(raw_dir=str(tmp_path / "raw"), warehouse_dir=str(tmp_path / "wh"))


def _defs(paths: Settings) -> dg.Definitions:
    """The code location as it loads now: its partitions are the raw folder's waves."""
    return build_defs(get_codebook(), paths)


def _tick(instance: dg.DagsterInstance, defs: dg.Definitions, paths: Settings, cursor):
    # as a context manager, so the context's resources (and instance state) are released
    with dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        repository_def=defs.get_repository_def(),
        resources={"settings": paths},
    ) as ctx:
        result = raw_exports(ctx)
    return result if isinstance(result, dg.SensorResult) else dg.SensorResult(skip_reason=result)


def _why(result: dg.SensorResult) -> str:
    return result.skip_reason.skip_message if result.skip_reason else ""


def _execute(
    instance: dg.DagsterInstance, paths: Settings, codebook: Codebook, request: dg.RunRequest
) -> None:
    # A schedule context opens its own copy of the instance and leaves that copy's state
    # storage current after it is gone; the run uses the test's instance, as a daemon does.
    with set_defs_state_storage(instance.defs_state_storage):
        result = dg.materialize(
            build_assets(codebook, wave_keys(paths.raw)),
            instance=instance,
            resources={"settings": paths},
            partition_key=request.partition_key,
            selection=request.asset_selection,
        )
    assert result.success


def _executable(defs: dg.Definitions) -> set[dg.AssetKey]:
    graph = defs.resolve_asset_graph()
    return {k for k in graph.get_all_asset_keys() if graph.get(k).is_executable}


def test_schedule_is_0200_tokyo_and_the_job_queues_in_its_lane(tmp_path: Path) -> None:
    defs = _defs(_paths(tmp_path))
    sched = defs.resolve_schedule_def("nightly")
    assert sched.cron_schedule == "0 2 * * *"
    assert sched.execution_timezone == "Asia/Tokyo"
    # runs launched from the UI's job page carry the tag the run queue limits
    assert defs.resolve_job_def(JOB_NAME).tags == LANE


def test_partitions_are_the_raw_folders_waves(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    write_msforms_xlsx(tmp_path / "raw/ministry/2023/a.xlsx", [base_ministry()])
    write_google_csv(tmp_path / "raw/hires/2024/h.csv", [base_hires()])
    (tmp_path / "raw/hires/bad,name").mkdir()  # Dagster refuses ',' in a key: left out
    graph = _defs(paths).resolve_asset_graph()
    answers = graph.get(dg.AssetKey(["facts", "answers"])).partitions_def
    assert isinstance(answers, dg.StaticPartitionsDefinition)
    assert answers.get_partition_keys() == ["2023", "2024"]


def test_schedule_requests_every_wave_whole_graph_last(tmp_path: Path, instance) -> None:
    paths = _paths(tmp_path)
    write_msforms_xlsx(tmp_path / "raw/ministry/2023/a.xlsx", [base_ministry()])
    write_msforms_xlsx(tmp_path / "raw/ministry/2024/a.xlsx", [base_ministry()])
    defs = _defs(paths)
    # as a context manager (as _tick): a context left open keeps a copy of the instance
    # whose state storage, when the garbage collector closes it during a later test, is
    # made current again under that test's Definitions load
    with dg.build_schedule_context(
        instance=instance,
        scheduled_execution_time=datetime(2024, 1, 5, 2, 0, tzinfo=ZoneInfo("Asia/Tokyo")),
        resources={"settings": paths},
        repository_def=defs.get_repository_def(),
    ) as ctx:
        requests = nightly(ctx)
    assert [r.partition_key for r in requests] == ["2023", "2024"]
    graph = defs.resolve_asset_graph()
    assert set(requests[-1].asset_selection) == _executable(defs)
    assert all(graph.get(k).partitions_def is not None for k in requests[0].asset_selection)
    assert all(r.tags["koryu/lane"] == "warehouse" for r in requests)


def test_schedule_skips_without_exports(tmp_path: Path, instance) -> None:
    paths = _paths(tmp_path)
    with dg.build_schedule_context(
        instance=instance,
        resources={"settings": paths},
        repository_def=_defs(paths).get_repository_def(),
    ) as ctx:
        assert isinstance(nightly(ctx), dg.SkipReason)


def test_sensor_plans_like_koryu_run(tmp_path: Path, instance) -> None:
    paths = _paths(tmp_path)
    write_msforms_xlsx(tmp_path / "raw/ministry/2023/a.xlsx", [base_ministry()])
    defs = _defs(paths)
    first = _tick(instance, defs, paths, None)
    assert [r.partition_key for r in first.run_requests] == ["2023"]
    assert set(first.run_requests[0].asset_selection) == _executable(defs)
    assert first.run_requests[0].tags["koryu/lane"] == "warehouse"

    # while nothing has run yet, the same plan is not asked for twice (the same run key)
    again = _tick(instance, defs, paths, first.cursor)
    assert [r.run_key for r in again.run_requests] == [first.run_requests[0].run_key]

    # right after the run: nothing, with or without a cursor (a sensor just switched on)
    _execute(instance, paths, get_codebook(), first.run_requests[0])
    assert _tick(instance, defs, paths, again.cursor).run_requests == []
    assert _tick(instance, defs, paths, None).run_requests == []

    # a changed export in 2023: a run for 2023 (and the marts), with a new run key
    write_msforms_xlsx(tmp_path / "raw/ministry/2023/b.xlsx", [base_ministry(org_name="別の省")])
    changed = _tick(instance, defs, paths, again.cursor)
    assert [r.partition_key for r in changed.run_requests] == ["2023"]
    assert changed.run_requests[0].run_key != first.run_requests[0].run_key

    # back to the content that already ran once: still a change, so a new run key
    _execute(instance, paths, get_codebook(), changed.run_requests[0])
    (tmp_path / "raw/ministry/2023/b.xlsx").unlink()
    back = _tick(instance, defs, paths, changed.cursor)
    assert [r.partition_key for r in back.run_requests] == ["2023"]
    assert back.run_requests[0].run_key not in {
        first.run_requests[0].run_key,
        changed.run_requests[0].run_key,
    }


def test_sensor_waits_for_a_reload_to_run_a_new_wave(tmp_path: Path, instance) -> None:
    paths = _paths(tmp_path)
    write_msforms_xlsx(tmp_path / "raw/ministry/2023/a.xlsx", [base_ministry()])
    loaded_before = _defs(paths)
    _execute(
        instance, paths, get_codebook(), _tick(instance, loaded_before, paths, None).run_requests[0]
    )

    write_google_csv(tmp_path / "raw/hires/2024/h.csv", [base_hires()])
    stale = _tick(instance, loaded_before, paths, None)
    assert stale.run_requests == [] and "reload" in _why(stale)
    reloaded = _tick(instance, _defs(paths), paths, None)
    assert [r.partition_key for r in reloaded.run_requests] == ["2024"]


def test_sensor_waits_while_a_run_is_in_progress(tmp_path: Path, instance) -> None:
    paths = _paths(tmp_path)
    write_msforms_xlsx(tmp_path / "raw/ministry/2023/a.xlsx", [base_ministry()])
    defs = _defs(paths)
    instance.create_run_for_job(defs.resolve_job_def(JOB_NAME), status=dg.DagsterRunStatus.STARTED)
    waiting = _tick(instance, defs, paths, None)
    assert waiting.run_requests == [] and "in progress" in _why(waiting)


def _schedule_tick(instance: dg.DagsterInstance, paths: Settings, day: int):
    with dg.build_schedule_context(
        instance=instance,
        scheduled_execution_time=datetime(2024, 12, day, 2, 0, tzinfo=ZoneInfo("Asia/Tokyo")),
        resources={"settings": paths},
        repository_def=_defs(paths).get_repository_def(),
    ) as ctx:
        return nightly(ctx)


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
    assert set(third[0].asset_selection) == _executable(_defs(paths))


@pytest.mark.slow
def test_sensor_switched_on_right_after_koryu_run_requests_nothing(demo_warehouse: Path) -> None:
    """The demo warehouse was written by `koryu run` in a subprocess; its Dagster home is
    beside it. A sensor switched on now (no cursor) plans from that event log."""
    paths = Settings(raw_dir=str(ROOT / "data" / "raw"), warehouse_dir=str(demo_warehouse))
    home = demo_warehouse.parent / "dagster_home"
    with dg.DagsterInstance.from_config(str(home)) as instance:
        result = _tick(instance, _defs(paths), paths, None)
    assert result.run_requests == []
    assert _why(result) == "everything is up to date"


def test_deploy_example_queues_every_run_one_at_a_time(tmp_path: Path) -> None:
    """UI runs of the implicit asset job carry no lane tag: the example's queue still takes
    one run at a time (its storage part needs PostgreSQL: test_postgres.py runs it whole)."""
    example = yaml.safe_load((ROOT / "deploy/dagster.yaml.example").read_text())
    config = {"run_coordinator": example["run_coordinator"], "telemetry": {"enabled": False}}
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(config))
    with dg.DagsterInstance.from_config(str(tmp_path)) as inst:
        queue = inst.get_concurrency_config().run_queue_config
    assert queue is not None and queue.max_concurrent_runs == 1
    assert {"key": "koryu/lane", "limit": 1} in queue.tag_concurrency_limits
