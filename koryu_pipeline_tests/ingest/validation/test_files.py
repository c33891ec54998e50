"""validate_file / combine_files: the per-file part of validation kept as Parquet and read
back gives the same wave validation, under the file's name of the day."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.ingest.readers import ParsedExport, export_files, read_export
from koryu_pipeline.ingest.readers.normalise import stable_id
from koryu_pipeline.ingest.validation import (
    FileValidation,
    WaveValidation,
    combine_files,
    validate_file,
    validate_wave,
)
from koryu_pipeline.ingest.wave import _distinct_names
from koryu_pipeline_tests.exports import (
    assert_conserved,
    base_hires,
    base_ministry,
    google_csv_text,
    write_google_csv,
    write_msforms_xlsx,
)


def _exact(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Equal frames, and object cells of the same Python types (None is not NaN here)."""
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    for c in a.columns:
        if a[c].dtype == object:
            assert [type(v) for v in a[c]] == [type(v) for v in b[c]], c


def _same(a: WaveValidation, b: WaveValidation) -> None:
    for name in ("accepted", "rejections", "files"):
        _exact(getattr(a, name), getattr(b, name))


def _kept(fv: FileValidation, path: Path) -> FileValidation:
    """Through a real Parquet file and back."""
    pq.write_table(fv.to_arrow(), path)
    return FileValidation.from_arrow(pq.read_table(path))


def _read(raw: Path, instrument: str) -> list[ParsedExport]:
    cb = get_codebook()
    return [
        read_export(p, raw, cb, instrument, "2023") for p in export_files(raw, instrument, "2023")
    ]


def _hires_raw(raw: Path) -> None:
    folder = raw / "hires" / "2023"
    twin = base_hires(タイムスタンプ="2023/11/20 10:00:00")
    rows = [
        twin,
        twin,  # the same key twice in one export: two responses
        base_hires(タイムスタンプ="昨日", support_wishes=None),
        base_hires(タイムスタンプ="2023/12/22 12:00:30 午前 GMT+9"),
        base_hires(age_band="90代", support_wishes=["特になし", "上司等との面談機会の充実"]),
        base_hires(satisfaction_2=None, industry="金融･保険業"),
    ]
    write_google_csv(folder / "a_partial.csv", rows[:3])
    write_google_csv(folder / "b_final.csv", rows)
    # a row with a quote never closed: the reader's malformed_row
    lines = google_csv_text([base_hires(), base_hires(age_band="40代")]).split("\r\n")
    first, rest = lines[1].split(",", 1)
    lines[1] = f'{first},"{rest}'
    (folder / "c_broken.csv").write_text("\r\n".join(lines), encoding="utf-8")
    (folder / "d_unreadable.csv").write_bytes(b"\x00\x01 not a csv \xff\xfe\x00")
    write_google_csv(folder / "e_empty.csv", [])


def _ministry_raw(raw: Path) -> None:
    folder = raw / "ministry" / "2023"
    first, second = base_ministry(q08_age="20代"), base_ministry(q08_age="40代")
    write_msforms_xlsx(folder / "a.xlsx", [first], submitted=[datetime(2023, 11, 20)])
    write_msforms_xlsx(
        folder / "b.xlsx",
        [first, second, base_ministry(org_name="B省", q07="xx", personnel_line="行政職")],
        submitted=[datetime(2023, 11, 20), datetime(2023, 11, 30), datetime(2023, 12, 1)],
    )


@pytest.mark.parametrize("instrument", ["hires", "ministry"])
def test_kept_file_validations_give_the_same_wave(tmp_path, instrument):
    raw = tmp_path / "raw"
    (_hires_raw if instrument == "hires" else _ministry_raw)(raw)
    parsed = _read(raw, instrument)
    form = get_codebook().form(instrument, "2023")
    fresh = validate_wave(form, parsed)
    assert_conserved(fresh, parsed)
    rules = set(fresh.rejections["rule"])
    assert {"duplicate"} <= rules and len(rules) >= 3  # the files do break rules
    files = [validate_file(form, p) for p in parsed]
    kept = [_kept(fv, tmp_path / f"{n}.parquet") for n, fv in enumerate(files)]
    for fv, back in zip(files, kept, strict=True):
        assert (back.source_file, back.rows, back.problem, back.row_problems) == (
            fv.source_file,
            fv.rows,
            fv.problem,
            fv.row_problems,
        )
        _exact(fv.records, back.records)
        assert (fv.wide is None) == (back.wide is None)
        if fv.wide is not None:
            _exact(fv.wide, back.wide)
    _same(fresh, combine_files(form, kept))
    # some kept, some fresh
    _same(fresh, combine_files(form, [kept[0], *files[1:]]))


def test_what_the_parquet_file_holds(tmp_path):
    raw = tmp_path / "raw"
    _hires_raw(raw)
    form = get_codebook().form("hires", "2023")
    partial = next(p for p in _read(raw, "hires") if p.source_file.endswith("a_partial.csv"))
    fv = validate_file(form, partial)
    path = tmp_path / "a.parquet"
    pq.write_table(fv.to_arrow(), path)
    table = pq.read_table(path)
    assert "source_file" not in table.column_names  # the name is the metadata's
    assert pa.types.is_list(table.schema.field("support_wishes").type)
    assert table.schema.field("submitted_at").type == pa.timestamp("us", tz="UTC")
    wishes = table.column("support_wishes").to_pylist()
    assert wishes[0] == ["府省特有の文化やルールに関する解説の充実"] and wishes[2] is None
    records = table.column("rule_records").to_pylist()
    assert records[0] is None and records[1] is None
    assert [r["rule"] for r in records[2]] == ["invalid_timestamp"]
    assert table.column("response_key").to_pylist()[:2] == [
        fv.wide["response_key"].iloc[0],
        fv.wide["response_key"].iloc[1],
    ]
    assert fv.wide["response_key"].iloc[0].endswith("#0")
    assert fv.wide["response_key"].iloc[1].endswith("#1")


def test_tuples_round_trip_whatever_they_hold(tmp_path):
    raw = tmp_path / "raw"
    write_google_csv(raw / "hires" / "2023" / "x.csv", [base_hires() for _ in range(6)])
    form = get_codebook().form("hires", "2023")
    fv = validate_file(form, _read(raw, "hires")[0])
    assert fv.wide is not None
    odd = [(), ("",), ("a;b", "c"), ("a", "b;c"), None, ("c", "a;b")]
    wide = fv.wide.assign(support_wishes=pd.Series(odd, dtype=object))
    back = _kept(replace(fv, wide=wide), tmp_path / "odd.parquet")
    assert back.wide is not None
    assert back.wide["support_wishes"].tolist() == odd
    _exact(wide, back.wide)
    # a list too long to be numbered by its labels' codes comes back all the same
    long = [tuple(f"label {k}" for k in range(40)), *odd[1:]]
    wide = fv.wide.assign(support_wishes=pd.Series(long, dtype=object))
    back = _kept(replace(fv, wide=wide), tmp_path / "long.parquet")
    assert back.wide is not None and back.wide["support_wishes"].tolist() == long


def test_a_kept_validation_takes_the_files_name_of_the_day(tmp_path):
    """Two files scrubbed to the same name: the second is told apart (" (2)") before
    validation; a validation kept under the plain name is relabelled, with its messages."""
    raw = tmp_path / "raw"
    folder = raw / "hires" / "2023"
    write_google_csv(folder / "x.csv", [base_hires(), base_hires(age_band="90代")])
    form = get_codebook().form("hires", "2023")
    (parsed,) = _read(raw, "hires")
    other = read_export(folder / "x.csv", raw, get_codebook(), "hires", "2023")
    both = [parsed, other]
    for p, name in zip(both, _distinct_names([p.source_file for p in both]), strict=True):
        p.source_file = name
        if p.frame is not None:
            p.frame["source_file"] = name
    assert other.source_file == "hires/2023/x.csv (2)"
    fresh = validate_wave(form, both)
    assert set(fresh.rejections["source_file"]) == {"hires/2023/x.csv", "hires/2023/x.csv (2)"}
    # the second file's validation as kept before the rename, read back under its new name
    before = validate_file(form, _read(raw, "hires")[0])
    kept = FileValidation.from_arrow(before.to_arrow(), source_file=other.source_file)
    _same(fresh, combine_files(form, [validate_file(form, parsed), kept]))
    assert kept.wide is not None and set(kept.wide["source_file"]) == {"hires/2023/x.csv (2)"}
    # relabel: cheap, and a no-op under the same name
    assert before.relabel(before.source_file) is before
    again = before.relabel("hires/2023/y.csv")
    assert again.wide is not None and set(again.wide["source_file"]) == {"hires/2023/y.csv"}
    assert before.wide is not None and set(before.wide["source_file"]) == {"hires/2023/x.csv"}


def test_exports_must_have_distinct_names(tmp_path):
    raw = tmp_path / "raw"
    write_google_csv(raw / "hires" / "2023" / "x.csv", [base_hires()])
    form = get_codebook().form("hires", "2023")
    fv = validate_file(form, _read(raw, "hires")[0])
    with pytest.raises(ValueError, match="share a name"):
        combine_files(form, [fv, fv])


def test_from_arrow_refuses_other_tables():
    with pytest.raises(ValueError, match="not a FileValidation"):
        FileValidation.from_arrow(pa.table({"x": [1]}))
    table = pa.table({"source_row": pa.array([], pa.int64())}).replace_schema_metadata(
        {b"koryu.file_validation": b'{"format": "koryu.file_validation/0"}'}
    )
    with pytest.raises(ValueError, match="format"):
        FileValidation.from_arrow(table)


def test_respondent_ids_are_stable_ids_of_the_numbered_keys(tmp_path):
    raw = tmp_path / "raw"
    _hires_raw(raw)
    form = get_codebook().form("hires", "2023")
    accepted = validate_wave(form, _read(raw, "hires")).accepted
    assert len(accepted) >= 3
    assert accepted["respondent_id"].tolist() == [
        stable_id("h", "hires", "2023", key) for key in accepted["response_key"]
    ]
    assert accepted["respondent_id"].is_monotonic_increasing
    assert accepted["respondent_id"].dtype == pd.Series(["x"]).dtype


@pytest.mark.parametrize("instrument", ["hires", "調査"])
def test_respondent_ids_for_any_instrument_name(instrument):
    from koryu_pipeline.ingest.validation import respondent_ids

    form = replace(get_codebook().form("hires", "2023"), instrument=instrument)
    keys = pd.Series(["at=1#0", "日本語のキー#1", "", "x" * 300 + "#0"], dtype="str")
    ids, order_key = respondent_ids(form, keys)
    expected = [stable_id(instrument[0], instrument, "2023", k) for k in keys]
    assert ids.tolist() == expected
    assert [expected[i] for i in order_key.argsort(kind="stable")] == sorted(expected)
