"""The nightly schedule and the raw-folder sensor.

Both ask for one run per wave that needs one; the runs carry the tag `koryu/lane=warehouse`
so a queued run coordinator limited to one run per lane (dagster.yaml.example) runs them in
order. The last wave's run (or any run the sensor asks for) takes the whole graph: facts,
marts, SQL copy. The schedule plans like `koryu run` (defs/plan.py): an unchanged night
launches nothing.
"""

from __future__ import annotations

import dagster as dg

from koryu_pipeline.defs.partitions import WAVES
from koryu_pipeline.defs.plan import plan_run
from koryu_pipeline.defs.resources import KoryuPaths
from koryu_pipeline.readers import discover
from koryu_pipeline.watch import (
    changed_waves,
    dump_cursor,
    fingerprints,
    load_cursor,
    wave_digest,
)

LANE = {"koryu/lane": "warehouse"}


def _selections(
    context: dg.ScheduleEvaluationContext | dg.SensorEvaluationContext,
) -> tuple[list[dg.AssetKey], list[dg.AssetKey]]:
    graph = context.repository_def.asset_graph
    executable = sorted(
        (k for k in graph.get_all_asset_keys() if graph.get(k).is_executable),
        key=lambda k: k.to_user_string(),
    )
    partitioned = [k for k in executable if graph.get(k).partitions_def is not None]
    return executable, partitioned


@dg.schedule(
    name="nightly",
    cron_schedule="0 2 * * *",
    execution_timezone="Asia/Tokyo",
    job_name="koryu_job",
    description="02:00 JST: the facts of every wave whose exports, code or codebook changed, "
    "then the marts and the SQL copy with the last of them; nothing when all is up to date.",
)
def nightly(context: dg.ScheduleEvaluationContext, paths: KoryuPaths):
    waves = sorted(discover(paths.raw))
    if not waves:
        return dg.SkipReason(f"no exports under {paths.raw}")
    known = set(context.instance.get_dynamic_partitions(WAVES.name))
    missing = [w for w in waves if w not in known]
    if missing:
        context.instance.add_dynamic_partitions(WAVES.name, missing)
    plan = plan_run(context.instance, paths.raw, paths.warehouse, paths.sql)
    if plan.up_to_date:
        return dg.SkipReason("every wave and the marts are up to date")
    everything, facts_only = _selections(context)
    marts_only = [k for k in everything if k not in facts_only]
    stamp = context.scheduled_execution_time.isoformat() if context.scheduled_execution_time else ""
    requests = [
        dg.RunRequest(
            run_key=f"nightly:{stamp}:{wave}",
            partition_key=wave,
            asset_selection=everything
            if plan.marts_stale and wave == plan.stale_waves[-1]
            else facts_only,
            tags={**LANE, "koryu/trigger": "nightly"},
        )
        for wave in plan.stale_waves
    ]
    if plan.marts_stale and not plan.stale_waves:
        requests.append(
            dg.RunRequest(
                run_key=f"nightly:{stamp}:marts",
                asset_selection=marts_only,
                tags={**LANE, "koryu/trigger": "nightly"},
            )
        )
    return requests


@dg.sensor(
    name="raw_exports",
    job_name="koryu_job",
    minimum_interval_seconds=60,
    description="Watches KORYU_RAW_DIR: a new wave folder becomes a partition; a new or "
    "changed export (by content fingerprint) runs its wave and everything downstream.",
)
def raw_exports(context: dg.SensorEvaluationContext, paths: KoryuPaths):
    before = load_cursor(context.cursor)
    after = fingerprints(paths.raw)
    waves = [w for w in changed_waves(before, after) if any(k.split("/")[1] == w for k in after)]
    known = set(context.instance.get_dynamic_partitions(WAVES.name))
    new = sorted({k.split("/")[1] for k in after} - known)
    everything, _ = _selections(context)
    requests = [
        dg.RunRequest(
            run_key=f"raw:{wave}:{wave_digest(after, wave)}",
            partition_key=wave,
            asset_selection=everything,
            tags={**LANE, "koryu/trigger": "sensor"},
        )
        for wave in waves
    ]
    return dg.SensorResult(
        run_requests=requests,
        cursor=dump_cursor(after),
        dynamic_partitions_requests=[WAVES.build_add_request(new)] if new else [],
        skip_reason=None if requests else "no new or changed exports",
    )
