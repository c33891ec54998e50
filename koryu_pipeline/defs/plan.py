"""What a run must do: the waves whose inputs changed, and whether the marts must follow.

Every fact and mart materialisation records `koryu/input_digest` (the content of the raw
files it read, the code and codebook, and where it wrote). A wave whose latest
materialisation in Dagster's event log carries today's digest is up to date only if its
outputs are also on disk and read whole (every partition's Parquet footer); the marts
likewise (every mart file, the report's files, and the SQL copy's recorded digests). So an
unchanged nightly run rewrites nothing, a changed export reruns its own wave and the marts
only, and anything deleted or damaged is rebuilt by the next plain run. Partitions of a wave
or instrument that left the raw folder make the marts stale too: their step prunes them.
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

import pyarrow as pa
import pyarrow.parquet as pq

from koryu_pipeline.codebook import Codebook, get_codebook
from koryu_pipeline.defs.fingerprints import (
    code_digest,
    fingerprints,
    marts_input_digest,
    present_partitions,
    wave_input_digest,
    wave_of,
)
from koryu_pipeline.warehouse.parquet import list_partitions, partition_path, table_path
from koryu_pipeline.warehouse.publish import digest_bytes, published_mismatches
from koryu_pipeline.warehouse.tables import (
    FILES,
    REJECTIONS,
    REPORT_DIR,
    WAVE_TABLES,
    mart_tables,
    table_registry,
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
    # why each wave ("2023") or the marts ("marts") must run, for the console and the log
    reasons: dict[str, list[str]] = field(default_factory=dict)

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


def input_digests(
    raw: Path, warehouse: Path, sql_url: str, prints: dict[str, str] | None = None
) -> tuple[dict[str, str], str]:
    """(wave -> digest of its facts' inputs, digest of the marts' inputs)."""
    prints = fingerprints(raw) if prints is None else prints
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


def _reads_whole(path: Path) -> bool:
    """The file is there and its Parquet footer reads (a truncated file's does not)."""
    try:
        pq.read_metadata(path)
    except (OSError, pa.ArrowException):
        return False
    return True


def wave_outputs(codebook: Codebook, warehouse: Path, wave: str, instruments: list[str]):
    """Every partition file a wave's ingest writes: all wave tables for an instrument with a
    form, its rejections and file summary for one without."""
    for instrument in instruments:
        tables = WAVE_TABLES if codebook.has_form(instrument, wave) else (FILES, REJECTIONS)
        for table in tables:
            yield partition_path(warehouse, table, instrument, wave)


def damaged_wave(codebook: Codebook, warehouse: Path, wave: str, instruments: list[str]):
    return [
        p.relative_to(warehouse).as_posix()
        for p in wave_outputs(codebook, warehouse, wave, instruments)
        if not _reads_whole(p)
    ]


def damaged_marts(
    codebook: Codebook, warehouse: Path, sql_url: str, present: set[tuple[str, str]]
) -> list[str]:
    """What is missing, damaged or left over on the marts' side, described for a person."""
    problems: list[str] = []
    digests: dict[str, str] = {}
    for spec in mart_tables(table_registry(codebook)):
        path = table_path(warehouse, spec.key)
        if not _reads_whole(path):
            problems.append(f"{spec.key} missing or damaged")
        else:
            digests[spec.key] = digest_bytes(path.read_bytes())
    report = Path(warehouse) / REPORT_DIR
    for kind in ("html", "pptx", "xlsx"):
        if not any(report.glob(f"*.{kind}")):
            problems.append(f"{REPORT_DIR}/*.{kind} missing")
    stray = {(i, w) for i, w in list_partitions(warehouse, FILES) if (i, w) not in present}
    problems += [f"instrument={i}/wave={w} has left the raw folder" for i, w in sorted(stray)]
    if not problems:
        problems += [f"SQL copy: {p}" for p in published_mismatches(sql_url, digests)]
    return problems


def plan_run(
    instance: dg.DagsterInstance, raw: Path, warehouse: Path, sql_url: str, force: bool = False
) -> RunPlan:
    codebook = get_codebook()
    prints = fingerprints(raw)
    per_wave, marts = input_digests(raw, warehouse, sql_url, prints)
    plan = RunPlan(waves=sorted(per_wave), wave_digests=per_wave, marts_digest=marts)
    present = present_partitions(prints)
    for wave, digest in per_wave.items():
        instruments = sorted(i for i, w in present if w == wave)
        why = ["--force"] if force else []
        if not why and _recorded(instance, WAVE_MARKER, wave) != digest:
            why.append("new or changed exports, code or codebook")
        if not why and (damaged := damaged_wave(codebook, warehouse, wave, instruments)):
            why += [f"{d} missing or damaged" for d in damaged]
        if why:
            plan.stale_waves.append(wave)
            plan.reasons[wave] = why
    why = ["--force"] if force else []
    if not why and plan.stale_waves:
        why.append("a wave's facts change")
    if not why and _recorded(instance, MARTS_MARKER, None) != marts:
        why.append("the facts, code or SQL target changed since the last build")
    if not why:
        why += damaged_marts(codebook, warehouse, sql_url, present)
    plan.marts_stale = bool(why)
    if why:
        plan.reasons["marts"] = why
    return plan
