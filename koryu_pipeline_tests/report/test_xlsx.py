"""The workbook read back with openpyxl: every question's sheet and the comparisons equal
the marts; headers frozen; text never becomes a formula."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from koryu_pipeline.codebook import Codebook
from koryu_pipeline.report import build_report
from koryu_pipeline.report.xlsx import (
    CHOICE_COLUMNS,
    CONTENTS,
    HEADER_ROW,
    HEADLINES,
    LIKERT_COLUMNS,
    SUPPORT_GAP_COLUMNS,
)


def _table(ws: Worksheet) -> pd.DataFrame:
    rows = list(ws.iter_rows(min_row=HEADER_ROW + 1, values_only=True))
    return pd.DataFrame(rows[1:], columns=rows[0])


def _equal(sheet: pd.DataFrame, mart: pd.DataFrame, columns: dict[str, str]) -> None:
    assert len(sheet) == len(mart)
    for column, header in columns.items():
        if column not in mart.columns:
            continue
        got, want = list(sheet[header]), list(mart[column])
        for g, w in zip(got, want, strict=True):
            if column == "suppressed":
                assert g == ("秘匿" if w else None)
            elif isinstance(w, str):
                assert g == w
            elif pd.isna(w):
                assert g is None
            else:
                assert g == pytest.approx(float(w), abs=1e-9), (column, g, w)


def test_question_sheets_equal_the_marts(
    demo_report: dict[str, Path], demo_marts: dict[str, pd.DataFrame], codebook: Codebook
) -> None:
    book = load_workbook(demo_report["xlsx"])
    assert book.sheetnames[:2] == [CONTENTS, HEADLINES]
    listed = [r[0] for r in book[CONTENTS].iter_rows(min_row=HEADER_ROW + 2, values_only=True)]
    assert listed == book.sheetnames[1:]
    form = codebook.form("ministry", "2023")
    questions = [e for e in form.questions if e.is_choice]
    for entry in questions:
        ws = book[f"ministry_{entry.id}"]
        assert ws.freeze_panes == f"A{HEADER_ROW + 2}"
        mart = demo_marts[f"marts/questions/ministry/{entry.id}"]
        sort = ["item_sort", "option_sort"] if entry.type == "likert" else ["option_sort"]
        columns = LIKERT_COLUMNS if entry.type == "likert" else CHOICE_COLUMNS
        _equal(_table(ws), mart.sort_values(sort), columns)
        assert ws.column_dimensions["A"].width >= 8
    gap = demo_marts["marts/comparisons/support_gap"].sort_values("hires_rank", kind="stable")
    _equal(_table(book["support_gap"]), gap, SUPPORT_GAP_COLUMNS)
    heads = _table(book[HEADLINES])
    assert list(heads["見出し"]) == list(demo_marts["marts/headlines"]["headline"])


def test_labels_that_look_like_formulas_stay_text(
    codebook: Codebook, demo_marts: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    marts = dict(demo_marts)
    key = "marts/questions/ministry/q05"
    evil = ["=1+1", "+SUM(A1:A9)", "-2", "@cmd"]
    frame = marts[key].copy()
    frame["option_label"] = evil
    marts[key] = frame
    paths = build_report(codebook, marts, tmp_path)
    ws = load_workbook(paths["xlsx"])["ministry_q05"]
    cells = [ws.cell(HEADER_ROW + 2 + i, 1) for i in range(len(evil))]
    assert [c.value for c in cells] == evil
    assert {c.data_type for c in cells} == {"s"}
    with zipfile.ZipFile(paths["xlsx"]) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in z.read(name), name
