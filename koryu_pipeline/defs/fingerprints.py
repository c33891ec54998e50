"""What changed under the raw folder: content fingerprints of the export files, so the
sensor reacts to new or changed exports (not to the wall clock or a touched mtime)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from koryu_pipeline.ingest.readers import discover, export_files, file_problem, is_wave


def fingerprints(raw_dir: Path, instruments: tuple[str, ...] | None = None) -> dict[str, str]:
    """'<instrument>/<wave>/<file>' -> sha256 of its bytes, for every file of every wave
    folder. A file the readers do not read (a link out of the raw folder, a lock file, a
    .xls) is fingerprinted by why, never opened. Keys start with the instrument and wave as
    the readers match them (a folder typed `Hires/２０２３` is hires/2023/Hires/２０２３/…)."""
    out: dict[str, str] = {}
    for wave, found in discover(raw_dir).items():
        if not is_wave(wave):
            continue  # not a partition: set aside whole (readers.misnamed_waves)
        for instrument in found:
            if instruments is not None and instrument not in instruments:
                continue
            for path in export_files(raw_dir, instrument, wave):
                rel, prefix = path.relative_to(raw_dir).as_posix(), f"{instrument}/{wave}/"
                key = rel if rel.startswith(prefix) else prefix + rel
                problem = file_problem(path, raw_dir)
                out[key] = (
                    f"not read: {problem.rule}"
                    if problem
                    else hashlib.sha256(path.read_bytes()).hexdigest()
                )
    return dict(sorted(out.items()))


def wave_of(key: str) -> str:
    return key.split("/")[1]


def present_partitions(prints: dict[str, str]) -> set[tuple[str, str]]:
    """(instrument, wave) of every folder holding an export: what the warehouse mirrors."""
    return {(k.split("/")[0], wave_of(k)) for k in prints}


def changed_waves(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Waves with a file added, changed or removed."""
    keys = set(before) | set(after)
    return sorted({wave_of(k) for k in keys if before.get(k) != after.get(k)})


def wave_digest(prints: dict[str, str], wave: str) -> str:
    """One digest of a wave's files: the run key, so the same content never reruns."""
    mine = {k: v for k, v in prints.items() if wave_of(k) == wave}
    return hashlib.sha256(json.dumps(mine, sort_keys=True).encode()).hexdigest()[:16]


def load_cursor(cursor: str | None) -> dict[str, str]:
    return json.loads(cursor) if cursor else {}


def dump_cursor(prints: dict[str, str]) -> str:
    return json.dumps(prints, sort_keys=True, separators=(",", ":"))


def wave_input_digest(prints: dict[str, str], wave: str, code: str, warehouse: Path) -> str:
    """What a wave's facts are computed from: its files' contents, the code, and where
    they are written (a new warehouse folder starts empty)."""
    payload = [wave_digest(prints, wave), code, str(Path(warehouse).resolve())]
    return hashlib.sha256("|".join(payload).encode()).hexdigest()[:16]


def marts_input_digest(wave_digests: dict[str, str], sql_url: str) -> str:
    payload = json.dumps({"waves": wave_digests, "sql": sql_url}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
