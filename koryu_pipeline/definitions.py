"""The Dagster code location: `dagster dev -w workspace.yaml` loads `defs` from here."""

from __future__ import annotations

from functools import cache

import dagster as dg

from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.defs import JOB_NAME, build_defs
from koryu_pipeline.defs.partitions import wave_keys
from koryu_pipeline.settings import Settings


@dg.definitions
@cache  # one graph per process: koryu run and the code server both ask more than once
def defs() -> dg.Definitions:
    # the waves are the raw folder's as the location loads (defs/partitions.py)
    waves = wave_keys(Settings.from_env().raw)
    return build_defs(get_codebook(), Settings.resource_from_env(), waves)


def get_koryu_job() -> dg.JobDefinition:
    """Module-level target for dagster.reconstructable (koryu run executes it out of process)."""
    return defs().resolve_job_def(JOB_NAME)
