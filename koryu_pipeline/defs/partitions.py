"""Waves are partitions, read from the raw folder when the code location loads.

A static list rather than dynamic partitions: the UI's launch dialog then offers exactly the
waves that have exports (all selected) and no free-text box, so a typo cannot create a wave.
A new wave folder becomes a partition when the code location reloads: `koryu run` loads it
anew every time, `dagster-daemon` reloads it every 60 seconds, the webserver on "Reload".
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import dagster as dg

from koryu_pipeline.ingest.readers import discover, is_wave

log = logging.getLogger(__name__)

# characters Dagster refuses in a static partition key (or in a key range) and names that
# could not be told apart in a run's tags
_REFUSED = ("...", ",", "[", "]", "|", "\n", "\t", "\r")


def wave_keys(raw_dir: Path) -> list[str]:
    """The wave folders under `raw_dir` that can be partition keys, sorted."""
    keys = []
    for wave in discover(raw_dir):
        if not is_wave(wave):  # reported by koryu run / status with the fix, never read
            log.warning("raw folder %r is not a survey year: set aside", wave)
            continue
        if any(bad in wave for bad in _REFUSED):
            log.warning("raw folder %r cannot be a wave: rename it (no , [ ] | or ...)", wave)
            continue
        keys.append(wave)
    return keys


def wave_partitions(waves: Iterable[str]) -> dg.StaticPartitionsDefinition:
    return dg.StaticPartitionsDefinition(sorted(set(waves)))
