"""One wave, end to end up to the facts: read and validate every export on its own (or use
its kept result, `ingest/cache.py`), apply the rules that span the files, build the fact
tables. Plain functions; the Dagster assets in defs/ only call these.

Memory: one file's frame at a time is read; its bytes and the reader's frame are dropped
once its validation is made, and the files' validations once the rules across them are
applied. With a sink (`warehouse.parquet.WaveWriter.add`) each table goes to the writer as
soon as it is made and is let go of before the next is built (the answers before the
exposures), so a wave never holds all its tables; without one, `WaveFacts.tables` holds
them all."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from koryu_pipeline.codebook import Codebook, Form, wave_number
from koryu_pipeline.ingest import cache
from koryu_pipeline.ingest.facts import (
    answer_cells,
    build_answers,
    build_exposures,
    build_respondents,
)
from koryu_pipeline.ingest.readers import (
    FileProblem,
    ParsedExport,
    discover,
    export_files,
    load_export,
    parse_export,
    read_export,
)
from koryu_pipeline.ingest.validation import FileValidation, combine_files, validate_file
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

Sink = Callable[[str, str, pd.DataFrame], None]  # (instrument, table, frame)
PREVIEW_ROWS = 5


@dataclass
class WaveFacts:
    wave: str
    # (instrument, table) -> frame, for each instrument that has exports in this wave; with
    # a sink, the quarantine's tables only (the others went to the sink)
    tables: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict)
    found: list[str] = field(default_factory=list)  # instruments with exports in the wave
    reused: int = 0  # files whose kept per-file result was used instead of reading them
    # (instrument, table) -> rows, and the first PREVIEW_ROWS rows, of every table made
    rows: dict[tuple[str, str], int] = field(default_factory=dict)
    heads: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict)

    def instruments(self) -> list[str]:
        return sorted(self.found)

    def made(self, name: str) -> list[str]:
        """The instruments a table was made for."""
        return sorted(i for i, t in self.rows if t == name)

    def row_count(self, name: str) -> int:
        return sum(n for (_, t), n in self.rows.items() if t == name)

    def head(self, name: str) -> pd.DataFrame:
        """The table's first rows (instruments in order), as `table(name).head()` gives them."""
        frames = [f for (_, t), f in sorted(self.heads.items()) if t == name]
        if not frames:
            return pd.DataFrame()
        return pd.concat(frames, ignore_index=True).head(PREVIEW_ROWS)

    def table(self, name: str) -> pd.DataFrame:
        frames = [f for (i, t), f in sorted(self.tables.items()) if t == name]
        if len(frames) == 1:  # one instrument: the frame itself, not a copy of it
            return frames[0]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


REUSED = "unchanged since it was last read: its result reused"


def _said(rows: int, problem: FileProblem | None, source: str, reused: bool = False) -> str:
    """What a file's progress line says of it."""
    if problem is not None and problem.rule == "unreadable_file":
        said = f"unreadable ({problem.message.removeprefix(f'{source}: ')})"
    elif problem is not None:
        said = f"{rows} rows, set aside whole: {problem.rule}"
    else:
        return f"{rows} rows ({REUSED})" if reused else f"{rows} rows read"
    return f"{said} ({REUSED})" if reused else said


class _Files:
    """The per-file part of a wave: each export read and validated on its own, or its kept
    result used when its bytes and the code are unchanged (`ingest/cache.py`)."""

    def __init__(
        self, codebook: Codebook, raw_dir: Path, wave: str, warehouse: Path | None
    ) -> None:
        self.codebook, self.raw_dir, self.wave, self.warehouse = codebook, raw_dir, wave, warehouse
        self.code = cache.code_digest() if warehouse is not None else ""
        self.kept: dict[str, set[Path]] = {}
        self.reused = 0

    def without_form(self, instrument: str, path: Path) -> ParsedExport:
        return read_export(path, self.raw_dir, self.codebook, instrument, self.wave)

    def validated(self, form: Form, path: Path) -> tuple[FileValidation, str]:
        """(the file's validation, what the progress line says of it)."""
        loaded = load_export(path, self.raw_dir)
        if isinstance(loaded, ParsedExport):  # not read: why is its whole validation
            return validate_file(form, loaded), _said(0, loaded.problem, loaded.source_file)
        entry = None
        if self.warehouse is not None:
            entry = cache.entry_path(
                self.warehouse, form.instrument, self.wave, loaded.digest, self.code
            )
            self.kept.setdefault(form.instrument, set()).add(entry)
            table = cache.load(entry)
            if table is not None:
                try:
                    fv = FileValidation.from_arrow(table, loaded.source_file)
                except (ValueError, TypeError, KeyError, pa.ArrowException):
                    entry.unlink(missing_ok=True)  # written by a bug since fixed: read again
                else:
                    self.reused += 1
                    return fv, _said(fv.rows, fv.problem, fv.source_file, reused=True)
        parsed = parse_export(loaded, self.codebook, form.instrument, self.wave)
        del loaded  # the bytes: the frame is all that is needed now
        fv = validate_file(form, parsed)
        del parsed
        if entry is not None:
            cache.store(entry, fv.to_arrow())
        return fv, _said(fv.rows, fv.problem, fv.source_file)

    def prune(self, instrument: str) -> None:
        if self.warehouse is not None:
            cache.prune(self.warehouse, instrument, self.wave, self.kept.get(instrument, set()))


def _distinct_names(names: list[str]) -> list[str]:
    """Two file names scrubbed to the same text (two e-mail addresses in names) stay two
    files: the later ones get " (2)", " (3)"."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        n = seen[name] = seen.get(name, 0) + 1
        out.append(f"{name} ({n})" if n > 1 else name)
    return out


def _rejected_whole(
    instrument: str, number: int, parsed: list[ParsedExport]
) -> dict[str, pd.DataFrame]:
    """A folder without a form: each file is recorded as rejected whole."""
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
    files = pd.DataFrame(
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
    return {REJECTIONS: rej, FILES: files}


def _parsed_rows(checked: list[FileValidation]) -> pd.DataFrame | None:
    """`staging/parsed`: the rows of every readable export as the readers gave them (the
    response keys without the number validation gives them within a file)."""
    frames = [fv.wide for fv in checked if fv.wide is not None and not fv.wide.empty]
    if not frames:
        return None
    wide = pd.concat(frames, ignore_index=True)
    wide["response_key"] = _without_number(wide["response_key"])
    return wide


_NUMBER = r"#\d+$"


def _without_number(keys: pd.Series) -> pd.Series:
    """The response keys without the "#k" validation numbers them with. In Arrow (RE2) when
    every key is Arrow text ending in "#" and ASCII digits, as validation makes them: the
    one match is then that ending for `re` and RE2 alike. pandas' `str.replace` would build
    a Python string per key (seconds and a gigabyte at a million keys)."""
    dtype = keys.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow" and not keys.hasnans:
        text = pa.chunked_array(pa.array(keys.array))
        if pc.all(pc.match_substring_regex(text, r"#[0-9]+\z")).as_py():
            stripped = pc.replace_substring_regex(text, _NUMBER, "")
            return pd.Series(dtype.__from_arrow__(stripped), index=keys.index, name=keys.name)
    return keys.str.replace(_NUMBER, "", regex=True)


def _staging(form: Form, table: str, frame: pd.DataFrame | None, number: int) -> pd.DataFrame:
    """A staging table's frame: the table's own columns only (the readers' submitted_text
    is not written), with its instrument and wave."""
    schema = wide_schema(form, table == STAGING_VALIDATED)
    if frame is None:
        frame = schema.empty_table().to_pandas()
    return frame.assign(instrument=form.instrument, wave=number)[schema.names]


def ingest_wave(
    codebook: Codebook,
    raw_dir: Path,
    wave: str,
    progress: Callable[[str], None] | None = None,
    warehouse: Path | None = None,
    sink: Sink | None = None,
) -> WaveFacts:
    """`progress` receives a line per file read and per instrument validated. With a
    `warehouse`, each export's per-file result is kept in its staging (`ingest/cache.py`)
    and used again while the file's bytes and the code are unchanged. With a `sink`
    (`warehouse.parquet.WaveWriter.add`), each table goes to it as soon as it is made and
    is let go of, so a wave never holds all its tables; only the quarantine's are kept."""
    say = progress or (lambda _message: None)
    out = WaveFacts(wave)

    def made(instrument: str, table: str, frame: pd.DataFrame) -> None:
        key = (instrument, table)
        if table == REJECTIONS:  # messages may quote a library's error or a cell: scrub them
            for column in ("value", "message"):
                frame[column] = scrub_series(frame[column])
        out.rows[key] = len(frame)
        # taken, not sliced: a slice of an Arrow-backed column keeps the whole column alive
        out.heads[key] = frame.take(np.arange(min(len(frame), PREVIEW_ROWS)))
        if sink is not None:
            sink(instrument, table, frame)
        if sink is None or table in (REJECTIONS, FILES):
            out.tables[key] = frame

    number = wave_number(wave)  # a folder that is not a year fails here, by name
    # a folder named for no instrument is read too: its files are listed as having no form
    extra = [i for i in discover(raw_dir).get(wave, []) if i not in codebook.instruments]
    found = {i: export_files(raw_dir, i, wave) for i in [*codebook.instruments, *extra]}
    found = {i: f for i, f in found.items() if f}
    total = sum(len(f) for f in found.values())
    files = _Files(codebook, raw_dir, wave, warehouse)
    done = 0
    for instrument, paths in found.items():
        out.found.append(instrument)
        if not codebook.has_form(instrument, wave):
            parsed = []
            for path in paths:
                done += 1
                p = files.without_form(instrument, path)
                say(
                    f"wave {wave}: file {done} of {total}: {p.source_file}: "
                    f"{_said(p.rows, p.problem, p.source_file)}"
                )
                parsed.append(p)
            for p, name in zip(
                parsed, _distinct_names([p.source_file for p in parsed]), strict=True
            ):
                p.source_file = name
            for table, frame in _rejected_whole(instrument, number, parsed).items():
                made(instrument, table, frame)
            continue
        form = codebook.form(instrument, wave)
        checked: list[FileValidation] = []
        for path in paths:
            done += 1
            fv, said = files.validated(form, path)
            say(f"wave {wave}: file {done} of {total}: {fv.source_file}: {said}")
            checked.append(fv)
            del fv  # the list holds it: no name may keep a file's frame past combine_files
        files.prune(instrument)
        names = _distinct_names([fv.source_file for fv in checked])
        checked = [fv.relabel(name) for fv, name in zip(checked, names, strict=True)]
        say(f"wave {wave}: validating {instrument} ({sum(fv.rows for fv in checked)} rows)")
        made(
            instrument,
            STAGING_PARSED,
            _staging(form, STAGING_PARSED, _parsed_rows(checked), number),
        )
        result = combine_files(form, checked)
        del checked  # the files' frames: the accepted rows are all that is needed now
        accepted, rejections, summary = result.accepted, result.rejections, result.files
        del result
        made(instrument, STAGING_VALIDATED, _staging(form, STAGING_VALIDATED, accepted, number))
        # the facts are built from the fields: the long response keys can go
        accepted = accepted.drop(columns=["response_key"])
        made(instrument, RESPONDENTS, build_respondents(form, accepted, codebook))
        cells = answer_cells(form, accepted)
        del accepted
        # one after the other: the answers are let go of before the exposures are built
        made(instrument, ANSWERS, build_answers(form, cells))
        made(instrument, EXPOSURES, build_exposures(form, cells))
        del cells
        made(instrument, REJECTIONS, rejections)
        made(instrument, FILES, summary)
    out.reused = files.reused
    return out
