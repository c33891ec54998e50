"""The Parquet writer: files as readable as the umask allows, a wave written table by table
and committed all or nothing, and a wave with personal data written not at all."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.ingest.wave import ingest_wave
from koryu_pipeline.warehouse.parquet import (
    PersonalDataError,
    WaveWriter,
    write_atomic,
    write_wave,
)
from koryu_pipeline.warehouse.sql import engine_for
from koryu_pipeline.warehouse.tables import ANSWERS, PARTITION_COLUMNS, WAVE_TABLES
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


def _in_order(
    tables: Mapping[tuple[str, str], pd.DataFrame],
) -> list[tuple[tuple[str, str], pd.DataFrame]]:
    """A wave's tables in the order the ingest makes them: staging, facts, quarantine."""
    return sorted(tables.items(), key=lambda kv: (kv[0][0], WAVE_TABLES.index(kv[0][1])))


def _everything(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) if root.exists() else []


def test_nothing_reaches_its_final_path_before_the_commit(tmp_path, wave):
    """Each table is staged as soon as it is added, hidden beside its target; only the
    commit puts the files in place."""
    cb, warehouse = get_codebook(), tmp_path / "warehouse"
    with WaveWriter(cb, warehouse, "2023") as writer:
        for (instrument, table), frame in _in_order(wave.tables):
            writer.add(instrument, table, frame)
        writer._wait()  # the last table's encoder done: every table is staged
        staged = list(warehouse.rglob("*.tmp"))
        assert len(staged) == len(wave.tables)
        assert all(p.name.startswith(".part-0.parquet.") for p in staged)
        assert not list(warehouse.rglob("*.parquet"))
        changed = writer.commit()
    assert changed == {t: ["instrument=ministry/wave=2023"] for t in WAVE_TABLES}
    assert not list(warehouse.rglob("*.tmp"))
    assert len(list(warehouse.rglob("*.parquet"))) == 2 * len(WAVE_TABLES)  # parts + flats


def test_personal_data_in_the_last_table_leaves_no_file_of_any_table(tmp_path, wave):
    """The tables before it were staged already: they are removed, with the folders made
    for them, and no table reaches its final path."""
    cb, warehouse = get_codebook(), tmp_path / "warehouse"
    tables = _in_order(wave.tables)
    (last_instrument, last_table), last = tables[-1]
    assert last_table == "quarantine/files"
    planted = last.assign(source_file="03-1234-5678")
    with WaveWriter(cb, warehouse, "2023") as writer:
        for (instrument, table), frame in tables[:-1]:
            writer.add(instrument, table, frame)
        writer._wait()
        assert len(list(warehouse.rglob("*.tmp"))) == len(tables) - 1  # staged
        writer.add(last_instrument, last_table, planted)
        with pytest.raises(PersonalDataError) as info:
            writer.commit()
    assert info.value.found == {"quarantine/files/instrument=ministry/wave=2023": ["source_file"]}
    assert _everything(warehouse) == []  # no file, no temporary file, no folder


def test_personal_data_in_the_last_table_leaves_an_existing_warehouse_as_it_was(tmp_path, wave):
    cb, warehouse = get_codebook(), tmp_path / "warehouse"
    write_wave(cb, warehouse, "2023", {k: v for k, v in wave.tables.items() if k[1] != ANSWERS})
    before = {p: p.read_bytes() for p in warehouse.rglob("*.parquet")}
    folders = _everything(warehouse)
    changed = {k: v.iloc[:1] for k, v in wave.tables.items()}  # every table would change
    key = ("ministry", "quarantine/files")
    changed[key] = changed[key].assign(source_file="taro@example.go.jp")
    with pytest.raises(PersonalDataError):
        write_wave(cb, warehouse, "2023", dict(_in_order(changed)))
    assert {p: p.read_bytes() for p in warehouse.rglob("*.parquet")} == before
    assert _everything(warehouse) == folders  # not even facts/answers' new folder


def test_a_table_with_personal_data_is_never_staged(tmp_path, wave):
    cb, warehouse = get_codebook(), tmp_path / "warehouse"
    (instrument, table), frame = _in_order(wave.tables)[0]
    assert table == "staging/parsed"
    with WaveWriter(cb, warehouse, "2023") as writer:
        writer.add(instrument, table, frame.assign(org_name="090-1234-5678"))
        for (i, t), f in _in_order(wave.tables)[1:]:  # nor, then, any other
            writer.add(i, t, f)
        writer._wait()
        assert _everything(warehouse) == []
        with pytest.raises(PersonalDataError):
            writer.commit()


def test_a_wave_left_without_its_commit_leaves_nothing_behind(tmp_path, wave):
    """An error while the wave is built (after some tables were staged) removes them."""
    cb, warehouse = get_codebook(), tmp_path / "warehouse"
    with (
        pytest.raises(RuntimeError, match="reader failed"),
        WaveWriter(cb, warehouse, "2023") as writer,
    ):
        for (instrument, table), frame in _in_order(wave.tables)[:3]:
            writer.add(instrument, table, frame)
        writer._wait()
        assert len(list(warehouse.rglob("*.tmp"))) == 3
        raise RuntimeError("reader failed")
    assert _everything(warehouse) == []


def test_an_unchanged_table_is_not_staged_but_gets_its_mode(tmp_path, wave):
    cb, warehouse = get_codebook(), tmp_path / "warehouse"
    write_wave(cb, warehouse, "2023", wave.tables)
    part = (
        warehouse / "facts" / "respondents" / "instrument=ministry" / "wave=2023" / "part-0.parquet"
    )
    part.chmod(0o600)  # as an earlier version left it
    mtime = part.stat().st_mtime_ns
    with WaveWriter(cb, warehouse, "2023") as writer:
        for (instrument, table), frame in _in_order(wave.tables):
            writer.add(instrument, table, frame)
        writer._wait()
        assert not list(warehouse.rglob("*.tmp"))
        assert writer.commit() == {t: [] for t in WAVE_TABLES}
    assert part.stat().st_mtime_ns == mtime
    mask = os.umask(0)
    os.umask(mask)
    assert mode(part) == 0o666 & ~mask


def test_a_table_that_cannot_be_staged_leaves_none_of_the_wave(tmp_path, wave):
    """A write that fails (here a file where the table's folder should be) fails the wave:
    the tables staged before it are removed, with the folders made for them."""
    cb, warehouse = get_codebook(), tmp_path / "warehouse"
    (warehouse / "facts").mkdir(parents=True)
    (warehouse / "facts" / "answers").write_bytes(b"not a folder")
    with pytest.raises(OSError), WaveWriter(cb, warehouse, "2023") as writer:
        for (instrument, table), frame in _in_order(wave.tables):
            writer.add(instrument, table, frame)
        writer.commit()
    assert _everything(warehouse) == ["facts", "facts/answers"]
