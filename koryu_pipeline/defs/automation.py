"""The nightly schedule and the raw-folder sensor.

Both plan exactly as `koryu run` does (defs/plan.py): the runs they ask for are the stale
waves' facts, the last of them with the marts and the SQL copy; nothing when everything is
up to date (so switching the sensor on right after `koryu run` requests nothing). The runs
carry the tag `koryu/lane=warehouse` (as the job does for runs launched from the UI), so a
queued run coordinator limited to one run per lane (dagster.yaml.example) runs them in order.
"""

from __future__ import annotations

import json

import dagster as dg
from dagster import DagsterRunStatus

from koryu_pipeline.defs.plan import RunPlan, plan_run
from koryu_pipeline.settings import Settings

LANE = {"koryu/lane": "warehouse"}
JOB = "koryu_job"
_ACTIVE = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
]


def _requests(
    context: dg.ScheduleEvaluationContext | dg.SensorEvaluationContext,
    plan: RunPlan,
    key_prefix: str,
    trigger: str,
) -> tuple[list[dg.RunRequest], list[str]]:
    """The plan's runs as requests, leaving out waves that are not partitions yet (a folder
    that appeared after the code location loaded; the next reload adds it)."""
    graph = context.repository_def.asset_graph  # type: ignore[union-attr]
    known: set[str] = set()
    for key in graph.get_all_asset_keys():
        partitions = graph.get(key).partitions_def
        if partitions is not None:
            known.update(partitions.get_partition_keys())
    later = [w for w in plan.stale_waves if w not in known]
    plan.stale_waves = [w for w in plan.stale_waves if w in known]
    if later:  # the marts follow that wave's run, after the reload: not twice
        plan.marts_stale = False
    requests = [
        dg.RunRequest(
            run_key=f"{key_prefix}:{wave or 'marts'}:"
            f"{plan.wave_digests.get(wave, '') if wave else plan.marts_digest}",
            partition_key=wave,
            asset_selection=selection,
            tags={**LANE, "koryu/trigger": trigger},
        )
        for wave, selection in plan.batches(graph)
    ]
    return requests, later


def _busy(instance: dg.DagsterInstance) -> bool:
    """A run is queued or running (this instance serves this pipeline only; a run from the
    UI's asset graph is not koryu_job): its results are not in the event log yet, so
    planning now would ask for the same work again."""
    return bool(instance.get_run_records(dg.RunsFilter(statuses=_ACTIVE), limit=1))


@dg.schedule(
    name="nightly",
    cron_schedule="0 2 * * *",
    execution_timezone="Asia/Tokyo",
    job_name=JOB,
    description="02:00 JST: the facts of every wave whose exports, code or codebook changed, "
    "then the marts and the SQL copy with the last of them; nothing when all is up to date.",
)
def nightly(context: dg.ScheduleEvaluationContext, settings: Settings):
    plan = plan_run(context.instance, settings.raw, settings.warehouse, settings.sql)
    if not plan.waves:
        return dg.SkipReason(f"no exports under {settings.raw}")
    if plan.up_to_date:
        return dg.SkipReason("every wave and the marts are up to date")
    stamp = context.scheduled_execution_time.isoformat() if context.scheduled_execution_time else ""
    requests, later = _requests(context, plan, f"nightly:{stamp}", "nightly")
    if later:
        context.log.info(f"waves {later} are not partitions yet: they run after a reload")
    return requests or dg.SkipReason(f"waves {later} are not partitions until the code reloads")


@dg.sensor(
    name="raw_exports",
    job_name=JOB,
    minimum_interval_seconds=60,
    description="Watches KORYU_RAW_DIR and plans like `koryu run`: a new or changed export "
    "(by content fingerprint) runs its wave and everything downstream; nothing when all is "
    "up to date. A new wave folder becomes a partition when the code location reloads.",
)
def raw_exports(context: dg.SensorEvaluationContext, settings: Settings):
    # The cursor counts changes of the raw folder: run keys carry that count, so the same
    # plan is asked for once per change (not again while its run is queued), and content
    # that comes back after a change (A -> B -> A) is a new change.
    if _busy(context.instance):
        return dg.SkipReason("a run is queued or in progress: planning after it")
    cursor = json.loads(context.cursor) if context.cursor else {}
    plan = plan_run(context.instance, settings.raw, settings.warehouse, settings.sql)
    generation = int(cursor.get("generation", 0)) + (cursor.get("raw") != plan.raw_state)
    next_cursor = json.dumps({"raw": plan.raw_state, "generation": generation})
    if plan.up_to_date:
        return dg.SensorResult(cursor=next_cursor, skip_reason="everything is up to date")
    requests, later = _requests(context, plan, f"raw:{generation}", "sensor")
    reason = f"waves {later} are not partitions until the code reloads" if later else None
    return dg.SensorResult(
        run_requests=requests, cursor=next_cursor, skip_reason=None if requests else reason
    )
