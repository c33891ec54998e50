"""What holds for all three files: written atomically and deterministically, self-contained
HTML, suppression respected everywhere, and the report read from a finished `koryu run`."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from pptx import Presentation

from koryu_pipeline.codebook import Codebook
from koryu_pipeline.report import build_report, read_marts_for_report
from koryu_pipeline.report.__main__ import main as report_main
from koryu_pipeline.report.fonts import FAMILY
from koryu_pipeline.report.xlsx import HEADER_ROW


def test_three_files_named_by_wave(demo_report: dict[str, Path]) -> None:
    assert {k: p.name for k, p in demo_report.items()} == {
        "html": "koryu_results_2023.html",
        "pptx": "koryu_results_2023.pptx",
        "xlsx": "koryu_results_2023.xlsx",
    }
    folder = demo_report["html"].parent
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in demo_report.values())


def test_same_marts_give_byte_identical_files(
    codebook: Codebook, demo_marts: dict[str, pd.DataFrame], demo_report: dict[str, Path],
    tmp_path: Path,
) -> None:  # fmt: skip
    again = build_report(codebook, demo_marts, tmp_path)
    for kind, path in demo_report.items():
        assert again[kind].read_bytes() == path.read_bytes(), kind
    before = {k: p.stat().st_mtime_ns for k, p in again.items()}
    build_report(codebook, demo_marts, tmp_path)  # unchanged bytes are not rewritten
    assert {k: p.stat().st_mtime_ns for k, p in again.items()} == before


def test_html_is_self_contained(demo_report: dict[str, Path]) -> None:
    html = demo_report["html"].read_text(encoding="utf-8")
    # nothing to fetch: no external src/href/url(), the font is a data: URL
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert not re.search(r"url\((?!data:)", html)
    assert f'font-family: "{FAMILY}"; font-display: block; src: url(data:font/woff;base64,' in html
    assert html.count('<section class="slide') == 18
    assert html.count('<svg class="chart"') == 21
    assert "@page { size: A4 landscape; margin: 0; }" in html
    assert len(html) < 600_000  # the font is a subset, not the 6 MB file


def test_suppressed_rows_show_no_figure_anywhere(
    codebook: Codebook, demo_marts: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    marts = dict(demo_marts)
    key = "marts/questions/ministry/q05"
    frame = marts[key].copy()
    frame["suppressed"] = frame["option_code"] == 1
    hidden = frame.loc[frame["suppressed"]].iloc[0]
    marts[key] = frame  # its figures left in: the report must withhold them itself
    paths = build_report(codebook, marts, tmp_path)
    html = paths["html"].read_text(encoding="utf-8")
    section = html.split('id="slide-5"')[1].split("</section>")[0]
    assert "秘匿" in section and f"{hidden['pct']:.1f}%" not in section
    chart = next(s.chart for s in Presentation(str(paths["pptx"])).slides[5].shapes if s.has_chart)
    assert chart.plots[0].series[0].values[0] is None
    ws = load_workbook(paths["xlsx"])["ministry_q05"]
    first = [c.value for c in ws[HEADER_ROW + 2]]
    assert first[0] == hidden["option_label"] and first[1] is None and "秘匿" in first


@pytest.mark.slow
def test_a_finished_warehouse_gives_the_same_report(
    codebook: Codebook, demo_warehouse: Path, demo_report: dict[str, Path], tmp_path: Path
) -> None:
    """`koryu run`'s Parquet, read back by read_marts_for_report (nullable ints come back as
    floats there), gives the files built from the in-memory marts."""
    marts = read_marts_for_report(demo_warehouse)
    assert "marts/headlines" in marts and "marts/comparisons/support_gap" in marts
    paths = build_report(codebook, marts, tmp_path)
    for kind, path in demo_report.items():
        assert paths[kind].read_bytes() == path.read_bytes(), kind
    # and `python -m koryu_pipeline.report <warehouse>` writes them under <warehouse>/report
    copy = tmp_path / "wh"
    shutil.copytree(demo_warehouse / "marts", copy / "marts")
    assert report_main([str(copy)]) == 0
    for kind, path in demo_report.items():
        assert (copy / "report" / path.name).read_bytes() == path.read_bytes(), kind
