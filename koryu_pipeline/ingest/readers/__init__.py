"""Readers: one per export format, each giving the wide frame described in base.py."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

from koryu_pipeline.codebook import Codebook, Form
from koryu_pipeline.ingest.readers.base import FileProblem, ParsedExport, empty_row
from koryu_pipeline.ingest.readers.googleforms_csv import read_googleforms_csv
from koryu_pipeline.ingest.readers.msforms_xlsx import (
    UNREADABLE_ERRORS,
    read_msforms_xlsx,
    sheet_rows,
)
from koryu_pipeline.ingest.readers.normalise import decode_csv_bytes

__all__ = [
    "READERS",
    "FileProblem",
    "ParsedExport",
    "count_rows",
    "discover",
    "export_files",
    "read_export",
]

# By file ending: the bytes decide the format, the folder decides the form.
READERS: dict[str, Callable[[Path, str, Form], ParsedExport]] = {
    ".xlsx": read_msforms_xlsx,
    ".csv": read_googleforms_csv,
}


def export_files(raw_dir: Path, instrument: str, wave: str) -> list[Path]:
    """The export files of one instrument and wave, in name order. Office lock files
    (~$…) and hidden files are not exports."""
    folder = Path(raw_dir) / instrument / wave
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in READERS and not p.name.startswith(("~$", "."))
    )


def discover(raw_dir: Path) -> dict[str, list[str]]:
    """wave -> instruments that have a folder for it under `raw_dir`."""
    out: dict[str, list[str]] = {}
    root = Path(raw_dir)
    if not root.is_dir():
        return out
    for inst in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for wave in sorted(p for p in inst.iterdir() if p.is_dir() and not p.name.startswith(".")):
            out.setdefault(wave.name, []).append(inst.name)
    return dict(sorted(out.items()))


def count_rows(path: Path) -> int:
    """The data rows of an export read without a form (non-empty rows below the header,
    as the readers count them); 0 when the file cannot be read at all."""
    try:
        if path.suffix.lower() == ".xlsx":
            body = sheet_rows(path)[1:]
        else:
            text, _ = decode_csv_bytes(path.read_bytes())
            body = list(csv.reader(io.StringIO(text, newline="")))[1:]
    except (*UNREADABLE_ERRORS, csv.Error):
        return 0  # EncodingError is a ValueError
    return sum(1 for r in body if r and not empty_row(list(r)))


def read_export(
    path: Path, raw_dir: Path, codebook: Codebook, instrument: str, wave: str
) -> ParsedExport:
    source = Path(path).relative_to(raw_dir).as_posix()
    if not codebook.has_form(instrument, wave):
        return ParsedExport(
            source,
            count_rows(Path(path)),  # rejected whole, but counted: nothing is lost
            problem=FileProblem(
                "no_form",
                None,
                f"{source}: the codebook has no form for {instrument}/{wave}; "
                f"add koryu_pipeline/codebook/forms/{instrument}_{wave}.yaml",
            ),
        )
    form = codebook.form(instrument, wave)
    return READERS[Path(path).suffix.lower()](Path(path), source, form)
