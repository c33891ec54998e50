"""build_report: the three files of the results summary for one wave, from the marts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from koryu_pipeline.report.html import render_html
from koryu_pipeline.report.pptx import render_pptx
from koryu_pipeline.report.slides import build_model
from koryu_pipeline.report.sources import (
    COMPARISON_KEYS,
    HEADLINES_KEY,
    Codebook,
    write_atomic,
)
from koryu_pipeline.report.xlsx import render_xlsx

FILE_STEM = "koryu_results"


def report_paths(out_dir: Path, wave: str) -> dict[str, Path]:
    return {kind: Path(out_dir) / f"{FILE_STEM}_{wave}.{kind}" for kind in ("html", "pptx", "xlsx")}


def build_report(
    codebook: Codebook,
    marts: Mapping[str, pd.DataFrame],
    out_dir: Path,
    wave: str | None = None,
) -> dict[str, Path]:
    """Write koryu_results_<wave>.html / .pptx / .xlsx under `out_dir` (the latest wave with
    every slide's headline unless `wave` is given) and return them by kind.

    Each file is written atomically (a temporary file beside it, then renamed) and only when
    its bytes change; the same marts give byte-identical files, since every date inside them
    is the wave's fielding close, not the time of the run."""
    report = build_model(codebook, marts, wave)
    when = datetime.combine(report.main.closes, time())
    contents = {
        "html": render_html(report).encode("utf-8"),
        "pptx": render_pptx(report, when),
        "xlsx": render_xlsx(codebook, report, marts, when),
    }
    paths = report_paths(out_dir, report.wave)
    for kind, data in contents.items():
        write_atomic(paths[kind], data)
    return paths


def read_marts_for_report(warehouse: Path) -> dict[str, pd.DataFrame]:
    """The marts the report reads, from a finished warehouse: every per-question table, the
    comparisons and the headlines (warehouse-relative keys, as build_marts names them)."""
    warehouse = Path(warehouse)
    out: dict[str, pd.DataFrame] = {}
    for part in sorted(warehouse.glob("marts/questions/*/*/*.parquet")):
        key = part.parent.relative_to(warehouse).as_posix()
        if key not in out:
            out[key] = pq.read_table(part.parent).to_pandas()
    for key in (*COMPARISON_KEYS, HEADLINES_KEY):
        if (warehouse / key).is_dir():
            out[key] = pq.read_table(warehouse / key).to_pandas()
    return out
