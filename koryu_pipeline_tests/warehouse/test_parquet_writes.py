"""The Parquet writer: files as readable as the umask allows, and a wave with personal data
written not at all."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.ingest.wave import ingest_wave
from koryu_pipeline.warehouse.parquet import PersonalDataError, write_atomic, write_wave
from koryu_pipeline.warehouse.sql import engine_for
from koryu_pipeline.warehouse.tables import PARTITION_COLUMNS
from koryu_pipeline_tests.exports import (
    base_hires,
    base_ministry,
    write_google_csv,
    write_msforms_xlsx,
)
from koryu_pipeline_tests.ingest.test_checks import FROM_EXPORTS, PLANTED, plant, text_cells


@contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_files_are_as_readable_as_the_umask_allows(tmp_path, mask, expected):
    with umask(mask):
        write_atomic(tmp_path / "t" / "part-0.parquet", b"data")
        engine = engine_for(f"sqlite:///{tmp_path / 'koryu.sqlite'}")
        try:
            with engine.begin() as conn:
                conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
        finally:
            engine.dispose()
    assert mode(tmp_path / "t" / "part-0.parquet") == expected
    assert mode(tmp_path / "koryu.sqlite") == expected
    assert not list((tmp_path / "t").glob(".*.tmp"))


@pytest.fixture
def wave(tmp_path):
    raw = tmp_path / "raw"
    write_msforms_xlsx(
        raw / "ministry" / "2023" / "a.xlsx",
        [base_ministry(org_name="A省"), base_ministry(org_name="B省")],
    )
    return ingest_wave(get_codebook(), raw, "2023")


def test_personal_data_about_to_be_written_blocks_the_whole_wave(tmp_path, wave):
    cb, warehouse = get_codebook(), tmp_path / "warehouse"
    write_wave(cb, warehouse, "2023", wave.tables)
    before = {p: p.read_bytes() for p in warehouse.rglob("*.parquet")}
    tables = dict(wave.tables)
    key = ("ministry", "facts/respondents")
    tables[key] = tables[key].assign(personnel_line=["03-1234-5678", None])
    tables[("ministry", "facts/answers")] = tables[("ministry", "facts/answers")].iloc[:1]
    with pytest.raises(PersonalDataError) as info:
        write_wave(cb, warehouse, "2023", tables)
    assert info.value.found == {
        "facts/respondents/instrument=ministry/wave=2023": ["personnel_line"]
    }
    assert "03-1234-5678" not in str(info.value)  # where, never what
    # nothing was written: not the table with the number, not the others
    assert {p: p.read_bytes() for p in warehouse.rglob("*.parquet")} == before
    assert not list(warehouse.rglob("*.tmp"))


def test_a_first_write_with_personal_data_leaves_no_file(tmp_path, wave):
    tables = dict(wave.tables)
    key = ("ministry", "staging/parsed")  # staging is checked like every other table
    tables[key] = tables[key].assign(org_name=["taro@example.go.jp", "B省"])
    with pytest.raises(PersonalDataError):
        write_wave(get_codebook(), tmp_path / "warehouse", "2023", tables)
    assert not (tmp_path / "warehouse").exists() or not any((tmp_path / "warehouse").rglob("*"))


@pytest.mark.parametrize("text", PLANTED)
def test_personal_data_planted_in_any_text_column_blocks_the_write(tmp_path, text):
    """The writer's check searches every text column of every partition (as Arrow) but the
    computed respondent_id: a number or an address planted in any of them is found (the
    partition columns are not written: the path holds them)."""
    raw = tmp_path / "raw"
    write_msforms_xlsx(
        raw / "ministry" / "2023" / "a.xlsx",
        [base_ministry(personnel_line="人事課"), base_ministry(q07="xx")],
    )
    write_google_csv(raw / "hires" / "2023" / "a.csv", [base_hires()])
    cb, warehouse = get_codebook(), tmp_path / "warehouse"
    wave = ingest_wave(cb, raw, "2023")
    searched = set()
    for (instrument, table), frame in sorted(wave.tables.items()):
        for column, row in text_cells(frame):
            if column in PARTITION_COLUMNS:
                continue
            searched.add((table, column))
            planted = {(instrument, table): plant(frame, column, row, text)}
            with pytest.raises(PersonalDataError) as info:
                write_wave(cb, warehouse, "2023", planted)
            assert info.value.found == {f"{table}/instrument={instrument}/wave=2023": [column]}
    assert searched >= FROM_EXPORTS
    assert not warehouse.exists()
