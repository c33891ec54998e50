"""What a run must do: the waves whose inputs changed, and whether the marts must follow.

Every fact and mart materialisation records `koryu/input_digest` (the content of the raw
files it read, the code and codebook, and where it wrote). A wave whose latest
materialisation in Dagster's event log carries today's digest is up to date only if its
outputs are also on disk and read whole (every partition's Parquet footer); the marts
likewise (every mart file, the report's files, and the SQL copy's recorded digests). So an
unchanged nightly run rewrites nothing, a changed export reruns its own wave and the marts
only, and anything deleted or damaged is rebuilt by the next plain run. Partitions of a wave
or instrument that left the raw folder make the marts stale too: their step prunes them.

Beside the digest, each run records what went into it (the files' fingerprints, the code
digest, where it wrote), so a plan also says *why* something is stale: `koryu status`,
`koryu run --dry-run`, the schedule and the sensor all plan here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg

if TYPE_CHECKING:  # the asset graph type is not exported by dagster's public API
    from dagster._core.definitions.assets.graph.base_asset_graph import (
        BaseAssetGraph as AssetGraph,
    )

import pyarrow as pa
import pyarrow.parquet as pq

from koryu_pipeline.codebook import Codebook, get_codebook
from koryu_pipeline.defs.fingerprints import (
    fingerprints,
    marts_input_digest,
    present_partitions,
    wave_input_digest,
    wave_of,
)
from koryu_pipeline.ingest.cache import code_digest
from koryu_pipeline.warehouse.parquet import list_partitions, partition_path, table_path
from koryu_pipeline.warehouse.personal import scrub_text
from koryu_pipeline.warehouse.publish import (
    digest_bytes,
    partitions_on_disk,
    published_mismatches,
)
from koryu_pipeline.warehouse.tables import (
    FILES,
    REJECTIONS,
    REPORT_DIR,
    WAVE_TABLES,
    mart_tables,
    sql_tables,
    table_registry,
)

DIGEST = "koryu/input_digest"
# what went into a digest, recorded beside it so that a plan can say what changed
RAW_FILES = "koryu/raw_files"  # on the wave marker: its files' fingerprints
CODE = "koryu/code_digest"
WAREHOUSE = "koryu/warehouse"
WAVE_DIGESTS = "koryu/wave_digests"  # on the marts marker: the waves it was built from
SQL_TARGET = "koryu/sql_digest"  # a digest of the SQL URL, which may hold a password
WAVE_MARKER = dg.AssetKey(["quarantine", "files"])  # written for every wave with exports
MARTS_MARKER = dg.AssetKey(["sql", "marts"])  # the last thing the marts step writes


@dataclass(frozen=True)
class Inputs:
    """Today's inputs: every export's fingerprint, the code digest, and the digests."""

    prints: dict[str, str]
    code: str
    warehouse: str
    sql_digest: str
    wave_digests: dict[str, str]
    marts_digest: str

    def files(self, wave: str) -> dict[str, str]:
        """The wave's exports' fingerprints by name as the warehouse records it: scrubbed of
        personal data (a file named after its sender), since these names go into Dagster's
        event log and the plan's reasons. Two names that scrub alike keep one entry: the
        names only explain a change, the digest decides it."""
        return {scrub_text(k): v for k, v in self.prints.items() if wave_of(k) == wave}


@dataclass(frozen=True)
class LastRun:
    """The latest materialisation of a marker asset in the event log."""

    run_id: str
    timestamp: float  # seconds since the epoch
    metadata: dict[str, Any]

    @property
    def digest(self) -> str | None:
        return self.metadata.get(DIGEST)


@dataclass
class RunPlan:
    waves: list[str]
    wave_digests: dict[str, str]
    marts_digest: str
    stale_waves: list[str] = field(default_factory=list)
    marts_stale: bool = True
    # why each stale wave (and the marts) must run, in words; the last run of each
    reasons: dict[str, list[str]] = field(default_factory=dict)
    marts_reasons: list[str] = field(default_factory=list)
    last_runs: dict[str, LastRun] = field(default_factory=dict)
    marts_last_run: LastRun | None = None
    files: dict[str, str] = field(default_factory=dict)  # today's fingerprints

    @property
    def raw_state(self) -> str:
        """One digest of every export under the raw folder."""
        payload = json.dumps(self.files, sort_keys=True).encode()
        return hashlib.sha256(payload).hexdigest()[:16]

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


def sql_digest(sql_url: str) -> str:
    return hashlib.sha256(sql_url.encode()).hexdigest()[:16]


def current_inputs(raw: Path, warehouse: Path, sql_url: str) -> Inputs:
    prints = fingerprints(raw)
    code = code_digest()
    waves = sorted({wave_of(k) for k in prints})
    per_wave = {w: wave_input_digest(prints, w, code, warehouse) for w in waves}
    return Inputs(
        prints=prints,
        code=code,
        warehouse=str(Path(warehouse).resolve()),
        sql_digest=sql_digest(sql_url),
        wave_digests=per_wave,
        marts_digest=marts_input_digest(per_wave, sql_url),
    )


def input_digests(raw: Path, warehouse: Path, sql_url: str) -> tuple[dict[str, str], str]:
    inputs = current_inputs(raw, warehouse, sql_url)
    return inputs.wave_digests, inputs.marts_digest


def wave_record(inputs: Inputs, wave: str) -> dict[str, Any]:
    """The metadata a wave's marker materialisation records (see RAW_FILES)."""
    return {
        DIGEST: inputs.wave_digests.get(wave, ""),
        RAW_FILES: dg.MetadataValue.json(inputs.files(wave)),
        CODE: inputs.code,
        WAREHOUSE: inputs.warehouse,
    }


def marts_record(inputs: Inputs) -> dict[str, Any]:
    return {
        DIGEST: inputs.marts_digest,
        WAVE_DIGESTS: dg.MetadataValue.json(inputs.wave_digests),
        CODE: inputs.code,
        SQL_TARGET: inputs.sql_digest,
    }


def last_run(
    instance: dg.DagsterInstance, key: dg.AssetKey, partition: str | None
) -> LastRun | None:
    flt = dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition] if partition else None)
    records = instance.fetch_materializations(flt, limit=1).records
    if not records or records[0].asset_materialization is None:
        return None
    record = records[0]
    meta = record.asset_materialization.metadata  # type: ignore[union-attr]
    return LastRun(
        run_id=record.run_id,
        timestamp=record.timestamp,
        metadata={k: getattr(v, "value", v) for k, v in meta.items()},
    )


def _changes(before: dict[str, str], now: dict[str, str]) -> list[str]:
    out = []
    for name in sorted(set(before) | set(now)):
        if name not in before:
            out.append(f"new export {name}")
        elif name not in now:
            out.append(f"export {name} removed")
        elif before[name] != now[name]:
            out.append(f"export {name} changed")
    return out


def _wave_reasons(inputs: Inputs, wave: str, last: LastRun | None, on_disk: bool) -> list[str]:
    if last is None:
        return ["never run"]
    reasons = [] if on_disk else ["its tables are missing from the warehouse"]
    if last.digest == inputs.wave_digests[wave]:
        return reasons
    files = last.metadata.get(RAW_FILES)
    if isinstance(files, dict):
        reasons += _changes(files, inputs.files(wave))
    if last.metadata.get(CODE) not in (None, inputs.code):
        reasons.append("the code or codebook changed")
    if last.metadata.get(WAREHOUSE) not in (None, inputs.warehouse):
        reasons.append(f"last written to another warehouse ({last.metadata[WAREHOUSE]})")
    return reasons or ["its inputs changed since the last run"]


def _marts_reasons(
    inputs: Inputs, stale_waves: list[str], last: LastRun | None, on_disk: bool
) -> list[str]:
    reasons = [f"after wave {w}" for w in stale_waves]
    if last is None:
        return [*reasons, "never run"]
    if not on_disk:
        reasons.append("the marts are missing from the warehouse")
    if last.digest == inputs.marts_digest:
        return reasons
    built = last.metadata.get(WAVE_DIGESTS)
    if isinstance(built, dict):
        for wave in sorted((set(built) | set(inputs.wave_digests)) - set(stale_waves)):
            if wave not in built:
                reasons.append(f"wave {wave} is new since the marts were built")
            elif wave not in inputs.wave_digests:
                reasons.append(f"wave {wave} has no exports any more")
            elif built[wave] != inputs.wave_digests[wave]:
                reasons.append(f"wave {wave} changed since the marts were built")
    if last.metadata.get(SQL_TARGET) not in (None, inputs.sql_digest):
        reasons.append("the SQL copy goes to another database (KORYU_SQL_URL)")
    return reasons or ["their inputs changed since the last run"]


def _reads_whole(path: Path) -> bool:
    """The file is there and its Parquet footer reads (a truncated file's does not)."""
    try:
        pq.read_metadata(path)
    except (OSError, pa.ArrowException):
        return False
    return True


def damaged_wave(codebook: Codebook, warehouse: Path, wave: str, instruments: list[str]):
    """Partition files of a wave that are missing or do not read whole: every wave table
    for an instrument with a form, its rejections and file summary for one without."""
    paths = [
        partition_path(warehouse, table, instrument, wave)
        for instrument in instruments
        for table in (WAVE_TABLES if codebook.has_form(instrument, wave) else (FILES, REJECTIONS))
    ]
    return [p.relative_to(warehouse).as_posix() for p in paths if not _reads_whole(p)]


def damaged_marts(
    codebook: Codebook, warehouse: Path, sql_url: str, present: set[tuple[str, str]]
) -> list[str]:
    """What is missing, damaged or left over on the marts' side, said for a person."""
    registry = table_registry(codebook)
    problems: list[str] = []
    whole: dict[str, tuple[pa.Schema, str]] = {}
    for spec in mart_tables(registry):
        path = table_path(warehouse, spec.key)
        if not _reads_whole(path):
            problems.append(f"{spec.key} missing or damaged")
        else:
            whole[spec.key] = (spec.schema, digest_bytes(path.read_bytes()))
    report = Path(warehouse) / REPORT_DIR
    problems += [
        f"{REPORT_DIR}/*.{kind} missing"
        for kind in ("html", "pptx", "xlsx")
        if not any(report.glob(f"*.{kind}"))
    ]
    stray = sorted({(i, w) for i, w in list_partitions(warehouse, FILES)} - present)
    problems += [f"instrument={i}/wave={w} has left the raw folder" for i, w in stray]
    if not problems:  # the SQL copy is checked against a whole warehouse only
        partitioned = {
            s.key: partitions_on_disk(codebook, warehouse, s.key, s.schema)
            for s in sql_tables(registry)
            if s.partitioned
        }
        mismatches = published_mismatches(sql_url, whole, partitioned, registry)
        problems += [f"SQL copy: {p}" for p in mismatches]
    return problems


def plan_run(
    instance: dg.DagsterInstance, raw: Path, warehouse: Path, sql_url: str, force: bool = False
) -> RunPlan:
    inputs = current_inputs(raw, warehouse, sql_url)
    plan = RunPlan(
        waves=sorted(inputs.wave_digests),
        wave_digests=inputs.wave_digests,
        marts_digest=inputs.marts_digest,
        files=inputs.prints,
    )
    codebook = get_codebook()
    present = present_partitions(inputs.prints)
    for wave in plan.waves:
        instruments = sorted(i for i, w in present if w == wave)
        damaged = damaged_wave(codebook, Path(warehouse), wave, instruments)
        last = last_run(instance, WAVE_MARKER, wave)
        if last is not None:
            plan.last_runs[wave] = last
        reasons = ["--force"] if force else _wave_reasons(inputs, wave, last, not damaged)
        if damaged and last is not None and not force:
            reasons += [f"{d} missing or damaged" for d in damaged]
        if reasons:
            plan.stale_waves.append(wave)
            plan.reasons[wave] = reasons
    plan.marts_last_run = last_run(instance, MARTS_MARKER, None)
    if force:
        plan.marts_reasons = ["--force"]
    else:
        plan.marts_reasons = _marts_reasons(inputs, plan.stale_waves, plan.marts_last_run, True)
        if plan.marts_last_run is not None and not plan.marts_reasons:
            plan.marts_reasons = damaged_marts(codebook, Path(warehouse), sql_url, present)
    plan.marts_stale = bool(plan.marts_reasons)
    return plan
