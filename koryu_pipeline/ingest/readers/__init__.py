"""Readers: one per export format, each giving the wide frame described in base.py; and what
decides which files a wave has and whether a file may be read at all.

Every entry of a wave folder that is not a folder is an export file to account for, so each
gets its row in `quarantine/files`:
- `.xlsx` and `.csv` files are read (the bytes once; `ParsedExport.digest` is their SHA-256);
- any other file (.xls, .ods, .txt, ...) is `unreadable_file`, with what to re-export it as;
- Office lock files (`~$…`, present while a workbook is open in Excel) and hidden files
  (`.…`: macOS's `._…` and `.DS_Store`, editors' swap files) are `ignored_file`: listed, with 0
  rows, never read;
- a symbolic link that leads outside the raw folder (or nowhere) is `outside_raw`, never
  read; anything that is not a regular file (a pipe, a device) is `unreadable_file`, never
  opened.
Files not read count 0 rows. Folder names are matched as people type them: the instrument
case-insensitively (`Hires`, `HIRES`), both after NFKC (a full-width `２０２３` is 2023).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from koryu_pipeline.codebook import Codebook, Form, normalise_text
from koryu_pipeline.ingest.readers.base import FileProblem, ParsedExport, unreadable
from koryu_pipeline.ingest.readers.googleforms_csv import count_csv_rows, read_googleforms_csv
from koryu_pipeline.ingest.readers.msforms_xlsx import (
    UNREADABLE_ERRORS,
    count_xlsx_rows,
    read_msforms_xlsx,
)
from koryu_pipeline.ingest.readers.normalise import EncodingError
from koryu_pipeline.warehouse.personal import scrub_text

__all__ = [
    "READERS",
    "ExportBytes",
    "FileProblem",
    "ParsedExport",
    "count_rows",
    "discover",
    "export_files",
    "file_problem",
    "load_export",
    "parse_export",
    "read_export",
]

# By file ending: the bytes decide the format, the folder decides the form.
READERS: dict[str, Callable[[bytes, str, Form], ParsedExport]] = {
    ".xlsx": read_msforms_xlsx,
    ".csv": read_googleforms_csv,
}
COUNTERS: dict[str, Callable[[bytes], int]] = {".xlsx": count_xlsx_rows, ".csv": count_csv_rows}
RE_EXPORT = {  # what to do with a format the readers do not take
    ".xls": "re-export as .xlsx (Excel: 名前を付けて保存 → Excel ブック)",
    ".xlsm": "re-export as .xlsx",
    ".xlsb": "re-export as .xlsx",
    ".ods": "re-export as .xlsx",
    ".numbers": "re-export as .xlsx",
    ".txt": "re-export as .csv",
    ".tsv": "re-export as .csv",
}


def instrument_key(name: str) -> str:
    return normalise_text(name).casefold()


def wave_key(name: str) -> str:
    return normalise_text(name)


def _folders(parent: Path, key: Callable[[str], str], wanted: str | None = None) -> list[Path]:
    """Visible sub-folders of `parent` (all, or those whose name's key is `wanted`)."""
    if not parent.is_dir():
        return []
    return sorted(
        p
        for p in parent.iterdir()
        if not p.name.startswith(".") and p.is_dir() and (wanted is None or key(p.name) == wanted)
    )


def export_files(raw_dir: Path, instrument: str, wave: str) -> list[Path]:
    """Every entry of the instrument's wave folder(s) that is not a folder, in path order:
    the files to account for (`file_problem` says which of them are not read)."""
    found = [
        p
        for inst in _folders(Path(raw_dir), instrument_key, instrument_key(instrument))
        for folder in _folders(inst, wave_key, wave_key(wave))
        for p in folder.iterdir()
        if p.is_symlink() or not p.is_dir()
    ]
    return sorted(found, key=lambda p: p.relative_to(raw_dir).as_posix())


def discover(raw_dir: Path) -> dict[str, list[str]]:
    """wave -> instruments that have a folder for it under `raw_dir`; names as keys (the
    instrument lower-case, both NFKC-normalised)."""
    out: dict[str, set[str]] = {}
    for inst in _folders(Path(raw_dir), instrument_key):
        for wave in _folders(inst, wave_key):
            out.setdefault(wave_key(wave.name), set()).add(instrument_key(inst.name))
    return {w: sorted(out[w]) for w in sorted(out)}


def is_wave(name: str) -> bool:
    """A wave folder is named for its survey year (every table stores the year's number)."""
    return name.isascii() and name.isdigit()


def misnamed_waves(raw_dir: Path) -> dict[str, list[str]]:
    """'<instrument>/<folder>' -> its files, for every wave folder not named for a year
    (`2023_test`, `latest`): set aside, never read, and reported with the fix."""
    return {
        f"{instrument}/{wave}": [p.name for p in export_files(raw_dir, instrument, wave)]
        for wave, found in discover(raw_dir).items()
        if not is_wave(wave)
        for instrument in found
    }


def set_aside_line(folder: str, files: list[str]) -> str:
    instrument = folder.split("/")[0]
    return scrub_text(
        f"{folder} ({len(files)} file{'s' if len(files) != 1 else ''}) is not named for a survey "
        f"year: not read -- fix: rename the folder to the year its exports belong to (e.g. "
        f"{instrument}/2023), or move the files there"
    )


def file_problem(path: Path, raw_dir: Path) -> FileProblem | None:
    """Why `path` is not read, decided without opening it; None for a file to read."""
    path = Path(path)
    name = path.name
    if name.startswith("~$"):
        return FileProblem(
            "ignored_file", None, "an Office lock file (the workbook is open in Excel): not read"
        )
    if name.startswith("."):
        return FileProblem(
            "ignored_file",
            None,
            "a hidden file (its name starts with '.'): not read; if it is an export, "
            "rename it without the '.'",
        )
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):  # a dangling link or a loop
        return FileProblem("outside_raw", None, "a link to nothing: not read")
    if not target.is_relative_to(Path(raw_dir).resolve()):
        return FileProblem(
            "outside_raw",
            None,
            "a link to a file outside the raw folder: not read; copy the export itself here",
        )
    if not stat.S_ISREG(target.stat().st_mode):
        return FileProblem("unreadable_file", None, "not a regular file: not read")
    suffix = path.suffix.lower()
    if suffix not in READERS:
        what = RE_EXPORT.get(suffix, "re-export as .xlsx (Microsoft Forms) or .csv (Google Forms)")
        return FileProblem(
            "unreadable_file",
            None,
            f"{'a ' + suffix if suffix else 'a file without an extension'} is not an export "
            f"format the pipeline reads: {what}",
        )
    return None


def _read_bytes(path: Path, raw_dir: Path) -> bytes:
    """The bytes of a file `file_problem` passed, read from its resolved path, refusing a
    link swapped in since (the last component is not followed, the rest is checked)."""
    target = Path(path).resolve(strict=True)
    if not target.is_relative_to(Path(raw_dir).resolve()):
        raise OSError(f"{target.name} now leads outside the raw folder")
    fd = os.open(target, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise OSError("not a regular file")
        return fh.read()


def count_rows(data: bytes, suffix: str) -> int:
    """The data rows of an export read without a form (non-empty rows below the header, as
    the readers count them); 0 when the file cannot be read at all."""
    try:
        return COUNTERS[suffix](data)
    except (*UNREADABLE_ERRORS, EncodingError):  # EncodingError is a ValueError
        return 0


@dataclass
class ExportBytes:
    """A file of a wave folder that is to be read: its name as recorded (scrubbed), its
    bytes, their SHA-256 and the file's ending (which picks the reader)."""

    source_file: str
    data: bytes
    digest: str
    suffix: str


def load_export(path: Path, raw_dir: Path) -> ExportBytes | ParsedExport:
    """The bytes of one file of a wave folder, read once; or, for a file that is not read
    (a lock file, a link out of the raw folder, an .xls, a read error), its ParsedExport
    saying why."""
    source = scrub_text(Path(path).relative_to(raw_dir).as_posix())
    problem = file_problem(path, raw_dir)
    if problem is not None:
        return unreadable(source, problem.message, problem.rule)
    try:
        data = _read_bytes(path, raw_dir)
    except OSError as exc:
        return unreadable(source, f"cannot be read ({exc.strerror or exc})")
    digest = hashlib.sha256(data).hexdigest()
    return ExportBytes(source, data, digest, Path(path).suffix.lower())


def parse_export(raw: ExportBytes, codebook: Codebook, instrument: str, wave: str) -> ParsedExport:
    """A loaded file read as its form says (rejected whole, but counted, without a form)."""
    source = raw.source_file
    if not codebook.has_form(instrument, wave):
        if instrument in codebook.instruments:
            todo = f"add koryu_pipeline/codebook/forms/{instrument}_{wave}.yaml"
        else:
            known = " or ".join(f"{i}/" for i in codebook.instruments)
            todo = f"{instrument!r} is not an instrument: move the file under {known}"
        parsed = ParsedExport(
            source,
            count_rows(raw.data, raw.suffix),  # rejected whole, but counted: nothing is lost
            problem=FileProblem(
                "no_form",
                None,
                f"{source}: the codebook has no form for {instrument}/{wave}; {todo}",
            ),
        )
    else:
        parsed = READERS[raw.suffix](raw.data, source, codebook.form(instrument, wave))
    parsed.digest = raw.digest
    return parsed


def read_export(
    path: Path, raw_dir: Path, codebook: Codebook, instrument: str, wave: str
) -> ParsedExport:
    """One file of a wave folder, read at most once, as its form says."""
    loaded = load_export(path, raw_dir)
    if isinstance(loaded, ParsedExport):
        return loaded
    return parse_export(loaded, codebook, instrument, wave)
