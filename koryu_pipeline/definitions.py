"""The Dagster code location: `dagster dev -w workspace.yaml` loads `defs` from here."""

from __future__ import annotations

import dagster as dg

from koryu_pipeline.defs.automation import nightly, raw_exports
from koryu_pipeline.defs.facts_assets import ingest_wave_asset, raw_specs
from koryu_pipeline.defs.marts_assets import build_marts_asset
from koryu_pipeline.defs.resources import paths_from_env

koryu_job = dg.define_asset_job(
    "koryu_job",
    selection=dg.AssetSelection.all(),
    description="Everything: a wave's exports to facts, then the marts and the SQL copy.",
)

defs = dg.Definitions(
    assets=[*raw_specs(), ingest_wave_asset, build_marts_asset],
    jobs=[koryu_job],
    schedules=[nightly],
    sensors=[raw_exports],
    resources={"paths": paths_from_env()},
)


def get_koryu_job() -> dg.JobDefinition:
    """Module-level target for dagster.reconstructable (koryu run executes it out of process)."""
    return defs.resolve_job_def("koryu_job")
