"""build_report: the three files of the results summary for one wave, from the marts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from koryu_pipeline.report.sources import COMPARISON_KEYS, HEADLINES_KEY


def read_marts_for_report(warehouse: Path) -> dict[str, pd.DataFrame]:
    """The marts the report reads, from a finished warehouse: every per-question table, the
    comparisons and the headlines (warehouse-relative keys, as build_marts names them)."""
    warehouse = Path(warehouse)
    out: dict[str, pd.DataFrame] = {}
    for part in sorted(warehouse.glob("marts/questions/*/*/*.parquet")):
        key = part.parent.relative_to(warehouse).as_posix()
        out[key] = pq.read_table(part.parent).to_pandas()
    for key in (*COMPARISON_KEYS, HEADLINES_KEY):
        if (warehouse / key).is_dir():
            out[key] = pq.read_table(warehouse / key).to_pandas()
    return out
