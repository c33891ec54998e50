"""Per-file results kept between runs: an unchanged export is not read again, a changed one
is, and the wave comes out the same either way."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.ingest import cache
from koryu_pipeline.ingest.readers import READERS
from koryu_pipeline.ingest.wave import WaveFacts, ingest_wave
from koryu_pipeline_tests.exports import (
    base_hires,
    base_ministry,
    write_google_csv,
    write_msforms_xlsx,
)


def make_raw(raw: Path) -> Path:
    m = raw / "ministry" / "2023"
    write_msforms_xlsx(
        m / "1_partial.xlsx", [base_ministry(org_name="A省"), base_ministry(org_name="B省")]
    )
    write_msforms_xlsx(
        m / "2_final.xlsx",
        [
            base_ministry(org_name="A省"),
            base_ministry(org_name="B省", q07="xx"),  # unknown option
            base_ministry(org_name="A省", q08_age="40代"),  # resubmitted
        ],
    )
    (m / "3_broken.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    h = raw / "hires" / "2023"
    write_google_csv(h / "a.csv", [base_hires(), base_hires(support_wishes=["特になし", "その他"])])
    write_google_csv(h / "b.csv", [base_hires(age_band="40代")], encoding="cp932", sep=";")
    return raw


def same(a: WaveFacts, b: WaveFacts) -> None:
    assert sorted(a.tables) == sorted(b.tables)
    for key in a.tables:
        pd.testing.assert_frame_equal(a.tables[key], b.tables[key], check_exact=True)


def entries(warehouse: Path) -> list[str]:
    root = warehouse / cache.CACHE_DIR
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.parquet"))


def refuse_to_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every reader fail: whatever still comes out was not read from the export."""

    def boom(*_args: object) -> None:
        raise AssertionError("an unchanged export was read again")

    for suffix in list(READERS):
        monkeypatch.setitem(READERS, suffix, boom)


def test_unchanged_exports_are_not_read_again(tmp_path, monkeypatch):
    raw, warehouse = make_raw(tmp_path / "raw"), tmp_path / "wh"
    cb = get_codebook()
    plain = ingest_wave(cb, raw, "2023")  # no warehouse: nothing kept
    first = ingest_wave(cb, raw, "2023", warehouse=warehouse)
    same(plain, first)
    assert first.reused == 0
    # one entry per export that has bytes to read (the broken workbook's verdict included)
    kept = entries(warehouse)
    assert len(kept) == 5
    assert all(e.startswith(("ministry/2023/", "hires/2023/")) for e in kept)
    assert all(e.endswith(f"-{cache.code_digest()}.parquet") for e in kept)

    refuse_to_read(monkeypatch)
    lines: list[str] = []
    second = ingest_wave(cb, raw, "2023", progress=lines.append, warehouse=warehouse)
    same(plain, second)
    assert second.reused == 5
    assert sum("its result reused" in line for line in lines) == 5
    assert entries(warehouse) == kept


def test_a_changed_export_is_read_again_and_its_old_result_dropped(tmp_path, monkeypatch):
    raw, warehouse = make_raw(tmp_path / "raw"), tmp_path / "wh"
    cb = get_codebook()
    ingest_wave(cb, raw, "2023", warehouse=warehouse)
    before = entries(warehouse)
    write_google_csv(
        raw / "hires" / "2023" / "a.csv",
        [
            base_hires(),
            base_hires(support_wishes=["特になし", "その他"]),
            base_hires(age_band="50代"),
        ],
    )
    (raw / "ministry" / "2023" / "1_partial.xlsx").unlink()
    again = ingest_wave(cb, raw, "2023", warehouse=warehouse)
    assert again.reused == 3  # b.csv, 2_final.xlsx, 3_broken.xlsx
    same(ingest_wave(cb, raw, "2023"), again)
    after = entries(warehouse)
    assert len(after) == 4 and len(set(before) - set(after)) == 2  # a.csv's old, 1_partial's
    assert (
        int(again.table("quarantine/files").set_index("source_file").at["hires/2023/a.csv", "rows"])
        == 3
    )


def test_another_code_version_or_a_damaged_entry_means_reading_again(tmp_path, monkeypatch):
    raw, warehouse = make_raw(tmp_path / "raw"), tmp_path / "wh"
    cb = get_codebook()
    first = ingest_wave(cb, raw, "2023", warehouse=warehouse)
    # a damaged entry (a crash cannot leave one: writes are atomic; a disk can)
    victim = sorted((warehouse / cache.CACHE_DIR).rglob("*.parquet"))[0]
    victim.write_bytes(victim.read_bytes()[:100])
    again = ingest_wave(cb, raw, "2023", warehouse=warehouse)
    assert again.reused == 4
    same(first, again)
    # the code changed: nothing kept is used, and the old entries go
    monkeypatch.setattr(cache, "code_digest", lambda: "0123456789abcdef")
    third = ingest_wave(cb, raw, "2023", warehouse=warehouse)
    assert third.reused == 0
    same(first, third)
    assert all(e.endswith("-0123456789abcdef.parquet") for e in entries(warehouse))


def test_an_entry_holding_personal_data_is_never_written(tmp_path):
    path = tmp_path / "x.parquet"
    assert not cache.store(path, pa.table({"free": ["連絡は taro@example.go.jp まで"]}))
    assert not path.exists()
    assert cache.store(path, pa.table({"free": ["特になし"]}))
    assert path.exists()
    # inside the rule records too (a list of structs: each field is searched)
    record = pa.struct([("rule", pa.string()), ("value", pa.string())])
    leaky = pa.array(
        [[{"rule": "unknown_option", "value": "090-1234-5678"}], None], pa.list_(record)
    )
    assert not cache.store(tmp_path / "y.parquet", pa.table({"rule_records": leaky}))
    assert not (tmp_path / "y.parquet").exists()


def test_folders_of_waves_gone_from_the_raw_folder_are_removed(tmp_path):
    raw, warehouse = make_raw(tmp_path / "raw"), tmp_path / "wh"
    ingest_wave(get_codebook(), raw, "2023", warehouse=warehouse)
    cache.prune_folders(warehouse, {("hires", "2023")})
    assert {e.split("/")[0] for e in entries(warehouse)} == {"hires"}
    assert not (warehouse / cache.CACHE_DIR / "ministry").exists()
