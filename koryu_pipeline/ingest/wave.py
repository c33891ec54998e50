"""One wave, end to end up to the facts: read every export, validate, build the fact
tables (as frames; warehouse/parquet.py writes them). Plain functions; the Dagster assets in
defs/ only call these."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from koryu_pipeline.codebook import Codebook
from koryu_pipeline.ingest.facts import build_answers_and_exposures, build_respondents
from koryu_pipeline.ingest.readers import ParsedExport, discover, export_files, read_export
from koryu_pipeline.ingest.validation import validate_wave
from koryu_pipeline.warehouse.personal import scrub_series
from koryu_pipeline.warehouse.tables import (
    ANSWERS,
    EXPOSURES,
    FILES,
    FILES_SCHEMA,
    REJECTIONS,
    REJECTIONS_SCHEMA,
    RESPONDENTS,
    STAGING_PARSED,
    STAGING_VALIDATED,
    wide_schema,
)


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


def _distinct_names(parsed: list[ParsedExport]) -> None:
    """Two file names scrubbed to the same text (two e-mail addresses in names) stay two
    files: the later ones get " (2)", " (3)"."""
    seen: dict[str, int] = {}
    for p in parsed:
        n = seen[p.source_file] = seen.get(p.source_file, 0) + 1
        if n > 1:
            p.source_file = f"{p.source_file} ({n})"
            if p.frame is not None:
                p.frame["source_file"] = p.source_file


def ingest_wave(codebook: Codebook, raw_dir: Path, wave: str) -> WaveFacts:
    out = WaveFacts(wave)
    # a folder named for no instrument is read too: its files are listed as having no form
    found = discover(raw_dir).get(wave, [])
    extra = [i for i in found if i not in codebook.instruments]
    for instrument in [*codebook.instruments, *extra]:
        files = export_files(raw_dir, instrument, wave)
        if not files:
            continue
        parsed = [read_export(p, raw_dir, codebook, instrument, wave) for p in files]
        _distinct_names(parsed)
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
            out.tables[(instrument, REJECTIONS)] = rej
            out.tables[(instrument, FILES)] = pd.DataFrame(
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
                columns=FILES_SCHEMA.names,
            )
            continue
        form = codebook.form(instrument, wave)
        result = validate_wave(form, parsed)
        frames = [p.frame for p in parsed if p.frame is not None and not p.frame.empty]
        wide = pd.concat(frames, ignore_index=True) if frames else None
        stage = {STAGING_PARSED: wide, STAGING_VALIDATED: result.accepted}
        for table, frame in stage.items():
            schema = wide_schema(form, table == STAGING_VALIDATED)
            if frame is None:
                frame = schema.empty_table().to_pandas()
            # the table's own columns only (the readers' submitted_text is not written)
            out.tables[(instrument, table)] = frame.assign(instrument=instrument, wave=wave)[
                schema.names
            ]
        answers, exposures = build_answers_and_exposures(form, result.accepted)
        out.tables[(instrument, RESPONDENTS)] = build_respondents(form, result.accepted, codebook)
        out.tables[(instrument, ANSWERS)] = answers
        out.tables[(instrument, EXPOSURES)] = exposures
        out.tables[(instrument, REJECTIONS)] = result.rejections
        out.tables[(instrument, FILES)] = result.files
    for key, frame in out.tables.items():
        if key[1] == REJECTIONS:  # messages may quote a library's error or a cell: scrub them
            for column in ("value", "message"):
                frame[column] = scrub_series(frame[column])
    return out
