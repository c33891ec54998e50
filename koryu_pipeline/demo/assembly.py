"""Assembling the demo exports: the dealt responses, spelled as people and tools spell cells,
written in each file's format by the shared writers (`demo.writers`)."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from koryu_pipeline.codebook import Form, get_codebook
from koryu_pipeline.demo.calibration import (
    EXPECTED_FILES,
    EXPECTED_VARIANTS,
    HIRES_CP932,
    HIRES_MAIN,
    MINISTRY_EXPORTED,
    MINISTRY_FINAL,
    MINISTRY_PARTIAL,
    N_PARTIAL,
    SEED,
    WAVE,
)
from koryu_pipeline.demo.dealing import Response, hires_responses, ministry_responses
from koryu_pipeline.demo.writers import (
    DOWNLOAD_SEP,
    MS_SEP,
    SHEET_SEP,
    GoogleFormsRow,
    MsFormsRow,
    download_timestamp,
    googleforms_csv_bytes,
    msforms_xlsx_bytes,
    sheet_timestamp,
    write_export,
)


def build_demo_exports() -> dict[str, bytes]:
    """The demo files' bytes by path relative to the raw folder."""
    cb = get_codebook()
    rng = random.Random(SEED)
    ministry, hires = cb.form("ministry", WAVE), cb.form("hires", WAVE)

    rows = ministry_responses(rng, ministry)
    spell_variants(rows)
    files = {
        MINISTRY_PARTIAL: _msforms(ministry, rows[:N_PARTIAL], MINISTRY_PARTIAL),
        MINISTRY_FINAL: _msforms(ministry, rows, MINISTRY_FINAL),
    }
    main, batch = hires_responses(rng, hires)
    files[HIRES_MAIN] = _googleforms(hires, main, "utf-8-sig", SHEET_SEP, sheet_timestamp)
    files[HIRES_CP932] = _googleforms(hires, batch, "cp932", DOWNLOAD_SEP, download_timestamp)
    assert set(files) == set(EXPECTED_FILES)  # every file written is described
    return files


def write_demo_exports(raw_dir: Path) -> list[Path]:
    """Write the demo exports under raw_dir (see `demo.calibration`); return their paths. A
    file that already holds its bytes is left untouched."""
    raw_dir = Path(raw_dir)
    return [write_export(raw_dir / rel, data) for rel, data in build_demo_exports().items()]


def spell_variants(rows: list[Response]) -> None:
    """Spell the `EXPECTED_VARIANTS` cells as people and tools do, in place; the readers'
    NFKC + whitespace folding undoes each."""
    for v in EXPECTED_VARIANTS:
        r = rows[v.row - 1]
        if v.kind == "no_trailing_separator":
            r.terminated = False
            continue
        value = r.answers[v.column]
        if v.kind == "fullwidth_digits":
            assert isinstance(value, str)
            r.raw[v.column] = value.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
        elif v.kind == "trailing_space":
            assert isinstance(value, str)
            r.raw[v.column] = value + " "
        elif v.kind == "halfwidth_parentheses":
            assert isinstance(value, str) and "（" in value
            r.raw[v.column] = value.replace("（", "(").replace("）", ")")
        elif v.kind == "space_before_separator":
            assert isinstance(value, tuple)
            r.raw[v.column] = "".join(f"{lab} {MS_SEP}" for lab in value)
        else:  # pragma: no cover - the table above is the only source
            raise ValueError(v.kind)


def _msforms(form: Form, rows: Sequence[Response], rel: str) -> bytes:
    """Forms numbers responses in submission order; a partial export holds the first ones."""
    table = [
        MsFormsRow(
            id=rid,
            started=r.started,
            submitted=r.submitted,
            email=r.email,
            name=r.name,
            answers={**r.answers, **r.raw},  # raw text is written as it is
            trailing_sep=r.terminated,
        )
        for rid, r in enumerate(rows, start=1)
    ]
    return msforms_xlsx_bytes(form, table, exported=MINISTRY_EXPORTED[rel])


def _googleforms(
    form: Form,
    rows: Sequence[Response],
    encoding: str,
    sep: str,
    stamp: Callable[[datetime], str],
) -> bytes:
    table = []
    for r in rows:
        assert r.submitted is not None
        table.append(GoogleFormsRow(r.submitted, r.answers))
    return googleforms_csv_bytes(form, table, encoding=encoding, sep=sep, stamp=stamp)
