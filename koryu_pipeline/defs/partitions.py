"""Waves are partitions, discovered from the raw folders (koryu run / the sensor add them)."""

from __future__ import annotations

import dagster as dg

WAVES = dg.DynamicPartitionsDefinition(name="waves")
