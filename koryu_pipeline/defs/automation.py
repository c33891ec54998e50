"""The nightly schedule and the raw-folder sensor.

Both ask for one run per wave that needs one; the runs carry the tag `koryu/lane=warehouse`
so a queued run coordinator limited to one run per lane (dagster.yaml.example) runs them in
order. The last wave's run (or any run the sensor asks for) takes the whole graph: facts,
marts, SQL copy. The schedule plans like `koryu run` (defs/plan.py): an unchanged night
launches nothing.
"""

from __future__ import annotations

import dagster as dg

from koryu_pipeline.defs.fingerprints import (
    changed_waves,
    dump_cursor,
    fingerprints,
    load_cursor,
    wave_digest,
    wave_of,
)
from koryu_pipeline.defs.partitions import WAVES
from koryu_pipeline.defs.plan import asset_selections, plan_run
from koryu_pipeline.ingest.readers import discover
from koryu_pipeline.settings import Settings

LANE = {"koryu/lane": "warehouse"}


@dg.schedule(
    name="nightly",
    cron_schedule="0 2 * * *",
    execution_timezone="Asia/Tokyo",
    job_name="koryu_job",
    description="02:00 JST: the facts of every wave whose exports, code or codebook changed, "
    "then the marts and the SQL copy with the last of them; nothing when all is up to date.",
)
def nightly(context: dg.ScheduleEvaluationContext, settings: Settings):
    waves = sorted(discover(settings.raw))
    if not waves:
        return dg.SkipReason(f"no exports under {settings.raw}")
    known = set(context.instance.get_dynamic_partitions(WAVES.name))
    missing = [w for w in waves if w not in known]
    if missing:
        context.instance.add_dynamic_partitions(WAVES.name, missing)
    plan = plan_run(context.instance, settings.raw, settings.warehouse, settings.sql)
    if plan.up_to_date:
        return dg.SkipReason("every wave and the marts are up to date")
    stamp = context.scheduled_execution_time.isoformat() if context.scheduled_execution_time else ""
    return [
        dg.RunRequest(
            run_key=f"nightly:{stamp}:{wave or 'marts'}",
            partition_key=wave,
            asset_selection=selection,
            tags={**LANE, "koryu/trigger": "nightly"},
        )
        for wave, selection in plan.batches(context.repository_def.asset_graph)
    ]


@dg.sensor(
    name="raw_exports",
    job_name="koryu_job",
    minimum_interval_seconds=60,
    description="Watches KORYU_RAW_DIR: a new wave folder becomes a partition; a new or "
    "changed export (by content fingerprint) runs its wave and everything downstream.",
)
def raw_exports(context: dg.SensorEvaluationContext, settings: Settings):
    before = load_cursor(context.cursor)
    after = fingerprints(settings.raw)
    present = {wave_of(k) for k in after}
    waves = [w for w in changed_waves(before, after) if w in present]
    known = set(context.instance.get_dynamic_partitions(WAVES.name))
    new = sorted(present - known)
    everything, _ = asset_selections(context.repository_def.asset_graph)
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
