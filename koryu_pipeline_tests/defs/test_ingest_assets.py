"""The wave's ingest step in Dagster: personal data typed into the exports reaches neither the
warehouse nor the event log (log lines, metadata, check results), and a gap in the scrubbing
is caught before anything is written."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq

from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.defs.ingest_assets import build_ingest_asset
from koryu_pipeline.defs.partitions import wave_partitions
from koryu_pipeline.ingest.readers import msforms_xlsx
from koryu_pipeline.settings import Settings
from koryu_pipeline.warehouse.tables import table_registry, wave_tables
from koryu_pipeline_tests.exports import (
    base_hires,
    base_ministry,
    write_google_csv,
    write_msforms_xlsx,
)

TYPED = ("taro.suzuki@example.go.jp", "03-1234-5678", "山田 太郎0")


def raw_with_personal_data(raw: Path) -> Path:
    write_msforms_xlsx(
        raw / "ministry" / "2023" / "a.xlsx",
        [
            base_ministry(org_name="A省"),
            base_ministry(org_name=f"連絡先 {TYPED[0]}", personnel_line=TYPED[1]),
            base_ministry(org_name="C省", personnel_line=TYPED[2]),  # row 2's 名前
            base_ministry(org_name="D省", q07=TYPED[0]),  # rejected: the value is quoted
        ],
    )
    return raw


def materialize(
    tmp_path: Path, raw: Path | None = None
) -> tuple[dg.ExecuteInProcessResult, dg.DagsterInstance]:
    instance = dg.DagsterInstance.ephemeral()
    settings = Settings(
        raw_dir=str(raw or raw_with_personal_data(tmp_path / "raw")),
        warehouse_dir=str(tmp_path / "warehouse"),
    )
    result = dg.materialize(
        [build_ingest_asset(get_codebook(), wave_partitions(["2023"]))],
        partition_key="2023",
        resources={"settings": settings},
        instance=instance,
        raise_on_error=False,
    )
    return result, instance


def event_log_text(instance: dg.DagsterInstance, run_id: str) -> str:
    return "\n".join(dg.serialize_value(e) for e in instance.all_logs(run_id))


def test_personal_data_reaches_neither_the_warehouse_nor_the_event_log(tmp_path):
    result, instance = materialize(tmp_path)
    assert result.success
    log = event_log_text(instance, result.run_id)
    assert "a.xlsx: 4 rows -> 3 accepted, 1 rejected" in log
    assert "preview" in log and "rejections_by_rule" in log  # metadata was recorded
    files = list((tmp_path / "warehouse").rglob("*.parquet"))
    assert files
    for text in (*TYPED, "山田太郎", "example.go.jp", "1234-5678"):
        assert text not in log, text
        for path in files:
            assert text.encode() not in path.read_bytes(), (path, text)


def test_a_gap_in_the_scrubbing_blocks_the_write(tmp_path, monkeypatch):
    """Were a reader to let personal data through, the check on the tables about to be
    written fails and nothing is written."""
    monkeypatch.setattr(msforms_xlsx, "scrubber_of", lambda columns: lambda text: text)
    result, instance = materialize(tmp_path)
    assert not result.success
    (check,) = result.get_asset_check_evaluations()
    assert (check.check_name, check.passed) == ("no_personal_data", False)
    found = check.metadata["columns_with_personal_data"].value
    assert found["facts/respondents/instrument=ministry/wave=2023"] == [
        "org_name",
        "personnel_line",
    ]
    assert not list((tmp_path / "warehouse").rglob("*"))  # not one file
    assert not result.get_asset_materialization_events()
    log = event_log_text(instance, result.run_id)
    assert "personal data about to be written, so nothing was" in log  # where, not what
    for text in TYPED:
        assert text not in log, text


def test_a_folder_named_for_no_instrument_is_listed_and_the_wave_goes_on(tmp_path):
    raw = tmp_path / "raw"
    write_msforms_xlsx(raw / "ministry" / "2023" / "a.xlsx", [base_ministry()])
    write_google_csv(raw / "misc" / "2023" / "stray.csv", [base_hires(), base_hires()])
    result, _ = materialize(tmp_path, raw)
    assert result.success
    files = pq.read_table(tmp_path / "warehouse" / "quarantine" / "files").to_pandas()
    assert files[["source_file", "rows", "rejected"]].values.tolist() == [
        ["ministry/2023/a.xlsx", 1, 0],
        ["misc/2023/stray.csv", 2, 2],
    ]
    assert not (tmp_path / "warehouse" / "staging" / "parsed" / "instrument=misc").exists()


def test_each_table_is_recorded_with_its_rows_and_first_rows(tmp_path):
    """The step hands each table to the writer as it is made: what it records of a table
    (row count, preview) comes from the ingest, and is what was written."""
    raw = tmp_path / "raw"
    write_msforms_xlsx(
        raw / "ministry" / "2023" / "a.xlsx",
        [base_ministry(org_name=f"{c}省") for c in "ABCDEFG"],
    )
    write_google_csv(raw / "hires" / "2023" / "a.csv", [base_hires(), base_hires(age_band="20代")])
    result, _ = materialize(tmp_path, raw)
    assert result.success
    recorded = {
        "/".join(e.asset_key.path): e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    assert sorted(recorded) == sorted(s.key for s in wave_tables(table_registry(get_codebook())))
    for key, metadata in recorded.items():
        rows = pq.read_table(tmp_path / "warehouse" / key).num_rows  # every instrument's
        assert metadata["dagster/row_count"].value == rows, key
    preview = recorded["facts/answers"]["preview"].value
    assert len(preview.splitlines()) == 2 + 5  # header, rule and the first five rows
    first = pq.read_table(tmp_path / "warehouse" / "facts" / "answers").slice(0, 1).to_pylist()
    assert first[0]["respondent_id"] in preview.splitlines()[2]
