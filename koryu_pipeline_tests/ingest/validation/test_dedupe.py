"""find_duplicates / find_superseded on the wide frames the readers give for real files."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd

from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.ingest.readers import export_files, read_export
from koryu_pipeline.ingest.validation.dedupe import find_duplicates, find_superseded
from koryu_pipeline_tests.exports import base_ministry, write_msforms_xlsx


def wide(raw: Path) -> pd.DataFrame:
    cb = get_codebook()
    frames = [
        read_export(p, raw, cb, "ministry", "2023").frame
        for p in export_files(raw, "ministry", "2023")
    ]
    out = pd.concat(frames, ignore_index=True)
    out["submitted_at"] = pd.to_datetime(out["submitted_at"], utc=True).dt.as_unit("us")
    return out


def xlsx(raw: Path, name: str, rows, **kwargs) -> Path:
    return write_msforms_xlsx(raw / "ministry" / "2023" / name, rows, **kwargs)


FORM = get_codebook().form("ministry", "2023")


def test_no_duplicates_in_one_clean_export(tmp_path):
    xlsx(tmp_path, "a.xlsx", [base_ministry(), base_ministry(org_name="B省")])
    w = wide(tmp_path)
    assert find_duplicates(w).empty
    assert find_superseded(FORM, w).empty


def test_copies_point_at_the_kept_row(tmp_path):
    rows = [base_ministry(org_name=n) for n in ("A省", "B省", "C省")]
    times = [datetime(2023, 11, 20 + n) for n in range(3)]
    xlsx(tmp_path, "1_first.xlsx", rows[:2], submitted=times[:2])
    xlsx(tmp_path, "2_second.xlsx", rows, submitted=times)
    w = wide(tmp_path)
    dups = find_duplicates(w)
    assert w.loc[dups.index, "source_file"].tolist() == ["ministry/2023/1_first.xlsx"] * 2
    assert dups["kept_file"].tolist() == ["ministry/2023/2_second.xlsx"] * 2
    assert dups["kept_row"].tolist() == [2, 3]


def test_a_file_with_unreadable_times_ranks_last(tmp_path):
    rows = [base_ministry(org_name=n) for n in ("A省", "B省")]
    xlsx(tmp_path, "a.xlsx", rows, submitted=[datetime(2023, 11, 20), datetime(2023, 11, 21)])
    # the same responses (same ID and time cell), plus one whose time cannot be read
    xlsx(
        tmp_path,
        "b.xlsx",
        [*rows, base_ministry(org_name="C省", 完了時刻="?")],
        submitted=[datetime(2023, 11, 20), datetime(2023, 11, 21), datetime(2023, 11, 22)],
    )
    w = wide(tmp_path)
    dups = find_duplicates(w)
    assert dups["kept_file"].unique().tolist() == ["ministry/2023/b.xlsx"]
    # every file's times unreadable: still ranked, by size then name
    raw2 = tmp_path / "other"
    xlsx(raw2, "a.xlsx", [base_ministry(完了時刻="?")])
    xlsx(raw2, "b.xlsx", [base_ministry(完了時刻="?")])
    w2 = wide(raw2)
    assert w2["submitted_at"].isna().all()
    dups2 = find_duplicates(w2)
    assert len(dups2) == 1 and dups2["kept_file"].item() == "ministry/2023/b.xlsx"


def test_supersede_keys_on_org_and_personnel_line(tmp_path):
    xlsx(
        tmp_path,
        "a.xlsx",
        [
            base_ministry(org_name="A省", personnel_line="行政職"),
            base_ministry(org_name="A省", personnel_line="行政職"),
            base_ministry(org_name="A省"),
            base_ministry(org_name="A省", personnel_line="技術職"),
            base_ministry(org_name=None),  # no identity: never superseded
            base_ministry(org_name=None),
        ],
        submitted=[datetime(2023, 11, 20, 10, n) for n in range(6)],
    )
    w = wide(tmp_path)
    sup = find_superseded(FORM, w)
    assert w.loc[sup.index, "source_row"].tolist() == [2]
    assert sup["by_row"].tolist() == [3]
    assert sup["by_time"].tolist() == [pd.Timestamp("2023-11-20 01:01", tz="UTC")]


def test_empty_frame(tmp_path):
    xlsx(tmp_path, "a.xlsx", [])
    w = wide(tmp_path)
    assert find_duplicates(w).empty and find_superseded(FORM, w).empty


def test_identical_responses_within_one_export_are_two_respondents(tmp_path) -> None:
    """Two anonymous hires with the same answers in the same second, in one export, are two
    responses; the final export repeating both is two duplicates, not one."""
    from koryu_pipeline.codebook import get_codebook
    from koryu_pipeline.ingest.readers import read_export
    from koryu_pipeline.ingest.validation import validate_wave
    from koryu_pipeline_tests.exports import base_hires, write_google_csv

    twin = base_hires(タイムスタンプ="2023/11/20 10:00:00")
    other = base_hires(タイムスタンプ="2023/11/21 10:00:00", age_band="40代")
    raw = tmp_path / "raw"
    write_google_csv(raw / "hires/2023/a_partial.csv", [twin, twin])
    write_google_csv(raw / "hires/2023/b_final.csv", [twin, twin, other])
    cb = get_codebook()
    form = cb.form("hires", "2023")
    parsed = [
        read_export(p, raw, cb, "hires", "2023") for p in sorted((raw / "hires/2023").iterdir())
    ]
    result = validate_wave(form, parsed)
    assert len(result.accepted) == 3
    assert result.accepted["respondent_id"].is_unique
    assert sorted(result.rejections["rule"]) == ["duplicate", "duplicate"]
    assert set(result.rejections["source_file"]) == {"hires/2023/a_partial.csv"}


def test_identity_keys_are_the_cells_joined(tmp_path):
    """The supersede key (and a superseded record's value) joins the identity cells as text,
    "" for an empty one, per distinct combination of cells."""
    from koryu_pipeline.ingest.validation.dedupe import joined_text

    xlsx(
        tmp_path,
        "a.xlsx",
        [
            base_ministry(org_name="A省", personnel_line="行政職"),
            base_ministry(org_name="A省"),
            base_ministry(org_name="B省", personnel_line="行政職"),
            base_ministry(org_name="A省", personnel_line="行政職"),
            base_ministry(org_name=None),
        ],
    )
    w = wide(tmp_path).set_axis(pd.RangeIndex(10, 15))
    cols = ["org_name", "personnel_line"]
    got = joined_text(w, cols, "/")
    assert got.index.equals(w.index)
    assert got.tolist() == [
        "/".join("" if pd.isna(v) else str(v) for v in row)
        for row in w[cols].itertuples(index=False)
    ]
    assert got.tolist() == ["A省/行政職", "A省/", "B省/行政職", "A省/行政職", "/"]
    assert joined_text(w.iloc[:0], cols, "/").empty


def test_duplicates_within_one_frame_are_still_found(tmp_path):
    """find_duplicates on keys not numbered (as a reader gives them): a key twice in one
    frame is a duplicate, a frame of distinct keys has none."""
    xlsx(tmp_path, "a.xlsx", [base_ministry(), base_ministry(org_name="B省")])
    w = wide(tmp_path)
    assert find_duplicates(w).empty
    w.loc[1, "response_key"] = w.loc[0, "response_key"]
    dups = find_duplicates(w)
    assert dups.index.tolist() == [1] and dups["kept_row"].tolist() == [2]
