"""Odd cells, as careless hands and other tools write them: each rejects its own response at
most, never the file, and the readers never raise."""

from __future__ import annotations

import re
import zipfile
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.ingest.readers import read_export
from koryu_pipeline.ingest.validation import validate_wave
from koryu_pipeline_tests.exports import (
    assert_conserved,
    base_hires,
    base_ministry,
    hires_form,
    ministry_form,
    write_google_csv,
    write_msforms_xlsx,
)

STAMP = "完了時刻/タイムスタンプ"


def odd(**cells: object) -> dict[str, object]:
    """A second ministry response (another organisation) with `cells` set."""
    return base_ministry(org_name="B省", **cells)


def ministry(raw: Path, rows, name: str = "odd.xlsx") -> tuple:
    path = write_msforms_xlsx(raw / "ministry" / "2023" / name, [base_ministry(), *rows])
    parsed = read_export(path, raw, get_codebook(), "ministry", "2023")
    result = validate_wave(ministry_form(), [parsed])
    assert_conserved(result, [parsed])
    return parsed, result


def hires(raw: Path, rows, **kwargs) -> tuple:
    path = write_google_csv(raw / "hires" / "2023" / "odd.csv", [base_hires(), *rows], **kwargs)
    parsed = read_export(path, raw, get_codebook(), "hires", "2023")
    result = validate_wave(hires_form(), [parsed])
    assert_conserved(result, [parsed])
    return parsed, result


def only_rejection(result) -> tuple:
    """(row, rule, column, value) of the one rejected response (row 3); row 2 accepted."""
    assert result.accepted["source_row"].tolist() == [2]
    rows = result.rejections[["source_row", "rule", "column", "value"]].values.tolist()
    assert len(rows) == 1, rows
    return tuple(rows[0])


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("9999/12/31 23:59:59 GMT-9", "9999/12/31 23:59:59 GMT-9"),  # overflowed before
        ("0001/01/01 00:00:00", "0001/01/01 00:00:00"),
        (datetime(9999, 12, 31, 23, 59, 59), "9999-12-31 23:59:59"),
        (datetime(1899, 12, 31, 12, 0), "12:00:00"),  # serial 1.5: openpyxl reads a time
        (1e308, "1e+308"),  # an Excel serial no date has
        (2958466, "2958466"),  # the day after 9999-12-31
        ("#N/A", "#N/A"),  # an error cell
        ("いつか", "いつか"),
        (True, "True"),
    ],
)
def test_an_odd_submission_time_rejects_its_response_only(tmp_path, cell, value):
    parsed, result = ministry(tmp_path / "raw", [odd(完了時刻=cell)])
    assert parsed.rows == 2 and parsed.problem is None
    assert only_rejection(result) == (3, "invalid_timestamp", STAMP, value)  # the cell kept


@pytest.mark.parametrize(
    "stamp", ["9999/12/31 23:59:59 GMT-9", "0001/01/01 0:00:00", "2023/02/30 10:00:00"]
)
def test_an_odd_timestamp_in_a_csv_rejects_its_response_only(tmp_path, stamp):
    _, result = hires(tmp_path / "raw", [base_hires(タイムスタンプ=stamp)], encoding="cp932")
    assert only_rejection(result) == (3, "invalid_timestamp", STAMP, stamp)


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        (1e308, "1e+308"),
        (10**30, "1e+30"),
        ("#N/A", "#N/A"),
        ("#DIV/0!", "#DIV/0!"),
        (datetime(1, 1, 1), None),  # openpyxl writes no serial for it: read as text below
    ],
)
def test_odd_choice_cells_are_unknown_options(tmp_path, cell, shown):
    _, result = ministry(tmp_path / "raw", [odd(q07=cell)])
    row, rule, column, value = only_rejection(result)
    assert (row, rule, column) == (3, "unknown_option", "q07")
    if shown is not None:
        assert value == shown


def test_a_formula_without_a_cached_value_is_an_empty_cell(tmp_path):
    parsed, result = ministry(tmp_path / "raw", [odd(q07="=NA()", ID="=1+1")])
    assert parsed.rows == 2
    assert pd.isna(parsed.frame.at[1, "q07"])  # q07 is optional: the response stands
    assert result.rejections.empty


def test_very_long_text_is_kept_and_shown_cut(tmp_path):
    long = "長" * 32_000  # Excel's limit is 32,767 characters
    parsed, result = ministry(tmp_path / "raw", [base_ministry(org_name=long, q07=long)])
    assert parsed.frame.at[1, "org_name"] == long
    row, rule, column, value = only_rejection(result)
    assert (row, rule, column) == (3, "unknown_option", "q07")
    assert value.startswith("長" * 200) and value.endswith("…(32000 characters)")


def test_control_characters_and_nul_in_a_csv(tmp_path):
    parsed, result = hires(tmp_path / "raw", [base_hires(industry="製造業\x00\x07\x1b")])
    assert parsed.rows == 2
    assert only_rejection(result)[:3] == (3, "unknown_option", "industry")


def test_a_cell_larger_than_the_csv_modules_default_limit(tmp_path):
    parsed, result = hires(tmp_path / "raw", [base_hires(industry="x" * 300_000)])
    assert parsed.rows == 2 and parsed.problem is None  # was: the whole file, 0 rows
    row, rule, column, value = only_rejection(result)
    assert (row, rule, column) == (3, "unknown_option", "industry")
    assert len(value) < 300


def _rewrite_sheet(path: Path, edit) -> None:
    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i.filename) for i in z.infolist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = edit(parts[sheet].decode()).encode()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ('<c r="{ref}" t="n"><v>abc</v></c>', "abc"),  # text in a number cell
        ('<c r="{ref}" t="d"><v>0000-99-99</v></c>', "0000-99-99"),  # not an ISO date
        ('<c r="{ref}" t="s"><v>99999</v></c>', "99999"),  # no such shared string
        ('<c r="{ref}" t="b"><v>yes</v></c>', "yes"),
        ('<c r="{ref}" t="e"><v>#REF!</v></c>', "#REF!"),
    ],
)
def test_cells_openpyxl_cannot_convert_are_read_as_their_text(tmp_path, cell, shown):
    """Hand-made workbook XML: one such cell used to end the whole sheet."""
    raw = tmp_path / "raw"
    path = write_msforms_xlsx(
        raw / "ministry" / "2023" / "x.xlsx", [base_ministry(), base_ministry(org_name="B省")]
    )
    col = "C"  # 完了時刻

    def edit(xml: str) -> str:
        new, n = re.subn(rf'<c r="{col}3"[^>]*>.*?</c>', cell.format(ref=f"{col}3"), xml)
        assert n == 1
        return new

    _rewrite_sheet(path, edit)
    parsed = read_export(path, raw, get_codebook(), "ministry", "2023")
    assert parsed.problem is None and parsed.rows == 2
    result = validate_wave(ministry_form(), [parsed])
    assert only_rejection(result) == (3, "invalid_timestamp", STAMP, shown)


def test_a_stale_sheet_size_does_not_cut_rows(tmp_path):
    """The <dimension> a tool wrote says A1:C2; the sheet has more rows and columns."""
    raw = tmp_path / "raw"
    path = write_msforms_xlsx(raw / "ministry" / "2023" / "x.xlsx", [base_ministry()] * 5)
    _rewrite_sheet(
        path, lambda xml: re.sub(r'<dimension ref="[^"]*"', '<dimension ref="A1:C2"', xml)
    )
    parsed = read_export(path, raw, get_codebook(), "ministry", "2023")
    assert parsed.problem is None and parsed.rows == 5
