"""What a run must do: the waves whose inputs changed, and whether the marts must follow.

Every fact and mart materialisation records `koryu/input_digest` (the content of the raw
files it read, the code and codebook, and where it wrote). A wave whose latest
materialisation in Dagster's event log carries today's digest, and whose files are on disk,
is up to date; the marts likewise. So an unchanged nightly run rewrites nothing and a
changed export reruns its own wave and the marts only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:  # the asset graph type is not exported by dagster's public API
    from dagster._core.definitions.assets.graph.base_asset_graph import (
        BaseAssetGraph as AssetGraph,
    )

from koryu_pipeline.defs.fingerprints import (
    code_digest,
    fingerprints,
    marts_input_digest,
    wave_input_digest,
    wave_of,
)

DIGEST = "koryu/input_digest"
WAVE_MARKER = dg.AssetKey(["quarantine", "files"])  # written for every wave with exports
MARTS_MARKER = dg.AssetKey(["sql", "marts"])  # the last thing the marts step writes


@dataclass
class RunPlan:
    waves: list[str]
    wave_digests: dict[str, str]
    marts_digest: str
    stale_waves: list[str] = field(default_factory=list)
    marts_stale: bool = True

    @property
    def up_to_date(self) -> bool:
        return not self.stale_waves and not self.marts_stale

    def batches(self, graph: AssetGraph) -> list[tuple[str | None, list[dg.AssetKey]]]:
        """The runs this plan needs, in order: (wave partition or None, asset selection).
        Each stale wave's facts; the last of them also takes the marts and the SQL copy when
        those are stale, or the marts run alone when no wave is."""
        everything, facts_only = asset_selections(graph)
        out: list[tuple[str | None, list[dg.AssetKey]]] = [
            (w, facts_only) for w in self.stale_waves
        ]
        if self.marts_stale:
            if out:
                out[-1] = (out[-1][0], everything)
            else:
                out.append((None, [k for k in everything if k not in facts_only]))
        return out


def asset_selections(graph: AssetGraph) -> tuple[list[dg.AssetKey], list[dg.AssetKey]]:
    """(every executable asset, the wave-partitioned ones), in a stable order."""
    everything = sorted(
        (k for k in graph.get_all_asset_keys() if graph.get(k).is_executable),
        key=lambda k: k.to_user_string(),
    )
    return everything, [k for k in everything if graph.get(k).partitions_def is not None]


def input_digests(raw: Path, warehouse: Path, sql_url: str) -> tuple[dict[str, str], str]:
    prints = fingerprints(raw)
    code = code_digest()
    waves = sorted({wave_of(k) for k in prints})
    per_wave = {w: wave_input_digest(prints, w, code, warehouse) for w in waves}
    return per_wave, marts_input_digest(per_wave, sql_url)


def _recorded(instance: dg.DagsterInstance, key: dg.AssetKey, partition: str | None) -> str | None:
    flt = dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition] if partition else None)
    records = instance.fetch_materializations(flt, limit=1).records
    if not records or records[0].asset_materialization is None:
        return None
    value = records[0].asset_materialization.metadata.get(DIGEST)
    return getattr(value, "value", None)


def plan_run(
    instance: dg.DagsterInstance, raw: Path, warehouse: Path, sql_url: str, force: bool = False
) -> RunPlan:
    per_wave, marts = input_digests(raw, warehouse, sql_url)
    plan = RunPlan(waves=sorted(per_wave), wave_digests=per_wave, marts_digest=marts)
    marker_file = Path(warehouse) / "quarantine" / "files"
    for wave, digest in per_wave.items():
        on_disk = any(marker_file.glob(f"instrument=*/wave={wave}/*.parquet"))
        if force or not on_disk or _recorded(instance, WAVE_MARKER, wave) != digest:
            plan.stale_waves.append(wave)
    marts_on_disk = (Path(warehouse) / "marts" / "headlines").is_dir()
    plan.marts_stale = (
        force
        or bool(plan.stale_waves)
        or not marts_on_disk
        or _recorded(instance, MARTS_MARKER, None) != marts
    )
    return plan
