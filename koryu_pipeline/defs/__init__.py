"""Dagster only: thin wiring over the plain functions of the stages.

`build_defs(codebook, settings, waves)` makes the whole code location from a codebook and
the waves found in the raw folder, so a test can build a multi-wave graph in-process;
`koryu_pipeline.definitions` calls it with the packaged codebook, the environment's settings
and the raw folder's waves.
"""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg

from koryu_pipeline.codebook import Codebook
from koryu_pipeline.defs.automation import LANE, nightly, raw_exports
from koryu_pipeline.defs.ingest_assets import build_ingest_asset, raw_specs
from koryu_pipeline.defs.marts_assets import build_marts_asset
from koryu_pipeline.defs.partitions import wave_keys, wave_partitions
from koryu_pipeline.settings import Settings

JOB_NAME = "koryu_job"


def build_assets(
    codebook: Codebook, waves: Iterable[str]
) -> list[dg.AssetSpec | dg.AssetsDefinition]:
    """The asset graph of a codebook: raw exports -> a wave's tables -> the marts."""
    partitions = wave_partitions(waves)
    return [
        *raw_specs(codebook, partitions),
        build_ingest_asset(codebook, partitions),
        build_marts_asset(codebook),
    ]


def build_defs(
    codebook: Codebook, settings: Settings, waves: Iterable[str] | None = None
) -> dg.Definitions:
    """`waves` default to the wave folders under `settings.raw_dir` (plain values only: the
    code location passes them, since its settings may be environment references)."""
    job = dg.define_asset_job(
        JOB_NAME,
        selection=dg.AssetSelection.all(),
        description="Everything: a wave's exports to facts, then the marts and the SQL copy.",
        # launched from the UI too, its runs join the schedule's and the sensor's queue lane
        tags=LANE,
    )
    return dg.Definitions(
        assets=build_assets(codebook, wave_keys(settings.raw) if waves is None else waves),
        jobs=[job],
        schedules=[nightly],
        sensors=[raw_exports],
        resources={"settings": settings},
    )
