"""One wave, end to end up to the facts: read every export, validate, build the fact
tables, write them. Plain functions; the Dagster assets in defs/ only call these."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa

from koryu_pipeline.codebook import Codebook
from koryu_pipeline.facts import (
    ANSWERS_SCHEMA,
    EXPOSURES_SCHEMA,
    FILE_SUMMARY_SCHEMA,
    REJECTIONS_SCHEMA,
    build_answers_and_exposures,
    build_respondents,
    respondents_schema,
    wide_schema,
)
from koryu_pipeline.readers import ParsedExport, export_files, read_export
from koryu_pipeline.validation import validate_wave
from koryu_pipeline.warehouse.parquet import write_partition

STAGING_TABLES = ("staging/parsed", "staging/validated")
FACT_TABLES = (
    "facts/respondents",
    "facts/answers",
    "facts/exposures",
    "quarantine/rejections",
    "quarantine/files",
)


def fact_schemas(codebook: Codebook) -> dict[str, pa.Schema]:
    return {
        "facts/respondents": respondents_schema(codebook),
        "facts/answers": ANSWERS_SCHEMA,
        "facts/exposures": EXPOSURES_SCHEMA,
        "quarantine/rejections": REJECTIONS_SCHEMA,
        "quarantine/files": FILE_SUMMARY_SCHEMA,
    }


@dataclass
class WaveFacts:
    wave: str
    # (instrument, table) -> frame, for each instrument that has exports in this wave
    tables: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict)
    parsed: dict[str, list[ParsedExport]] = field(default_factory=dict)

    def instruments(self) -> list[str]:
        return sorted(self.parsed)

    def table(self, name: str) -> pd.DataFrame:
        frames = [f for (i, t), f in sorted(self.tables.items()) if t == name]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def ingest_wave(codebook: Codebook, raw_dir: Path, wave: str) -> WaveFacts:
    out = WaveFacts(wave)
    for instrument in codebook.instruments:
        files = export_files(raw_dir, instrument, wave)
        if not files:
            continue
        parsed = [read_export(p, raw_dir, codebook, instrument, wave) for p in files]
        out.parsed[instrument] = parsed
        if not codebook.has_form(instrument, wave):
            # no form to read these files by: each file is recorded as rejected whole
            rej = pd.DataFrame(
                [
                    {
                        "instrument": instrument,
                        "wave": wave,
                        "source_file": p.source_file,
                        "source_row": None,
                        "rule": p.problem.rule if p.problem else "no_form",
                        "column": None,
                        "value": None,
                        "message": p.problem.message if p.problem else "",
                    }
                    for p in parsed
                ],
                columns=REJECTIONS_SCHEMA.names,
            )
            out.tables[(instrument, "quarantine/rejections")] = rej
            out.tables[(instrument, "quarantine/files")] = pd.DataFrame(
                [
                    {
                        "instrument": instrument,
                        "wave": wave,
                        "source_file": p.source_file,
                        "rows": p.rows,
                        "accepted": 0,
                        "rejected": p.rows,
                        "file_rejected": True,
                    }
                    for p in parsed
                ],
                columns=FILE_SUMMARY_SCHEMA.names,
            )
            continue
        form = codebook.form(instrument, wave)
        result = validate_wave(form, parsed)
        frames = [p.frame for p in parsed if p.frame is not None and not p.frame.empty]
        wide = pd.concat(frames, ignore_index=True) if frames else None
        stage = {"staging/parsed": wide, "staging/validated": result.accepted}
        for table, frame in stage.items():
            schema = wide_schema(form, table == "staging/validated")
            if frame is None:
                frame = schema.empty_table().to_pandas()
            out.tables[(instrument, table)] = frame.assign(instrument=instrument, wave=wave)
        answers, exposures = build_answers_and_exposures(form, result.accepted)
        out.tables[(instrument, "facts/respondents")] = build_respondents(
            form, result.accepted, codebook
        )
        out.tables[(instrument, "facts/answers")] = answers
        out.tables[(instrument, "facts/exposures")] = exposures
        out.tables[(instrument, "quarantine/rejections")] = result.rejections
        out.tables[(instrument, "quarantine/files")] = result.files
    return out


def table_schema(codebook: Codebook, table: str, instrument: str, wave: str) -> pa.Schema:
    """A table's schema; the staging tables' depends on the instrument's form."""
    if table in STAGING_TABLES:
        return wide_schema(codebook.form(instrument, wave), table == "staging/validated")
    return fact_schemas(codebook)[table]


def write_wave_facts(
    codebook: Codebook,
    warehouse: Path,
    facts: WaveFacts,
    tables: tuple[str, ...] = STAGING_TABLES + FACT_TABLES,
) -> dict[str, list[str]]:
    """Write the selected tables' partitions; returns table -> partition files rewritten
    (unchanged bytes are not rewritten)."""
    changed: dict[str, list[str]] = {t: [] for t in tables}
    for (instrument, table), frame in sorted(facts.tables.items()):
        if table not in tables:
            continue
        schema = table_schema(codebook, table, instrument, facts.wave)
        if write_partition(warehouse, table, instrument, facts.wave, frame, schema):
            changed[table].append(f"instrument={instrument}/wave={facts.wave}")
    return changed
