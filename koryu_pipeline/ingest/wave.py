"""One wave, end to end up to the facts: read every export, validate, build the fact
tables (as frames; warehouse/parquet.py writes them). Plain functions; the Dagster assets in
defs/ only call these."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from koryu_pipeline.codebook import Codebook, wave_number
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


def _read_all(
    codebook: Codebook,
    raw_dir: Path,
    wave: str,
    files: dict[str, list[Path]],
    progress: Callable[[str], None],
) -> dict[str, list[ParsedExport]]:
    """Every export of the wave, read in order, saying so as each file is done (a large
    workbook takes a while, and whoever waits should see which one)."""
    total = sum(len(f) for f in files.values())
    out: dict[str, list[ParsedExport]] = {}
    done = 0
    for instrument, paths in files.items():
        for path in paths:
            done += 1
            parsed = read_export(path, raw_dir, codebook, instrument, wave)
            if parsed.problem is not None and parsed.problem.rule == "unreadable_file":
                reason = parsed.problem.message.removeprefix(f"{parsed.source_file}: ")
                what = f"unreadable ({reason})"
            elif parsed.problem is not None:
                what = f"{parsed.rows} rows, set aside whole: {parsed.problem.rule}"
            else:
                what = f"{parsed.rows} rows read"
            progress(f"wave {wave}: file {done} of {total}: {parsed.source_file}: {what}")
            out.setdefault(instrument, []).append(parsed)
    return out


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


def ingest_wave(
    codebook: Codebook,
    raw_dir: Path,
    wave: str,
    progress: Callable[[str], None] | None = None,
) -> WaveFacts:
    """`progress` receives a line per file read and per instrument validated."""
    say = progress or (lambda _message: None)
    out = WaveFacts(wave)
    number = wave_number(wave)  # a folder that is not a year fails here, by name
    # a folder named for no instrument is read too: its files are listed as having no form
    extra = [i for i in discover(raw_dir).get(wave, []) if i not in codebook.instruments]
    found = {i: export_files(raw_dir, i, wave) for i in [*codebook.instruments, *extra]}
    read = _read_all(codebook, raw_dir, wave, {i: f for i, f in found.items() if f}, say)
    for instrument, parsed in read.items():
        _distinct_names(parsed)
        out.parsed[instrument] = parsed
        if not codebook.has_form(instrument, wave):
            # no form to read these files by: each file is recorded as rejected whole
            rej = pd.DataFrame(
                [
                    {
                        "instrument": instrument,
                        "wave": number,
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
                        "wave": number,
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
        say(f"wave {wave}: validating {instrument} ({sum(p.rows for p in parsed)} rows)")
        result = validate_wave(form, parsed)
        frames = [p.frame for p in parsed if p.frame is not None and not p.frame.empty]
        wide = pd.concat(frames, ignore_index=True) if frames else None
        stage = {STAGING_PARSED: wide, STAGING_VALIDATED: result.accepted}
        for table, frame in stage.items():
            schema = wide_schema(form, table == STAGING_VALIDATED)
            if frame is None:
                frame = schema.empty_table().to_pandas()
            # the table's own columns only (the readers' submitted_text is not written)
            out.tables[(instrument, table)] = frame.assign(instrument=instrument, wave=number)[
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
