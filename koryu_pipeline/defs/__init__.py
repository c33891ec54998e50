"""Dagster only: thin wiring over the plain functions of the stages.

`build_defs(codebook, settings)` makes the whole code location from a codebook, so a test
can build a multi-wave graph in-process; `koryu_pipeline.definitions` calls it with the
packaged codebook and the environment's settings.
"""

from __future__ import annotations

import dagster as dg

from koryu_pipeline.codebook import Codebook
from koryu_pipeline.defs.automation import nightly, raw_exports
from koryu_pipeline.defs.ingest_assets import build_ingest_asset, raw_specs
from koryu_pipeline.defs.marts_assets import build_marts_asset
from koryu_pipeline.settings import Settings

JOB_NAME = "koryu_job"


def build_assets(codebook: Codebook) -> list[dg.AssetSpec | dg.AssetsDefinition]:
    """The asset graph of a codebook: raw exports -> a wave's tables -> the marts."""
    return [*raw_specs(codebook), build_ingest_asset(codebook), build_marts_asset(codebook)]


def build_defs(codebook: Codebook, settings: Settings) -> dg.Definitions:
    job = dg.define_asset_job(
        JOB_NAME,
        selection=dg.AssetSelection.all(),
        description="Everything: a wave's exports to facts, then the marts and the SQL copy.",
    )
    return dg.Definitions(
        assets=build_assets(codebook),
        jobs=[job],
        schedules=[nightly],
        sensors=[raw_exports],
        resources={"settings": settings},
    )
