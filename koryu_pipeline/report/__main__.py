"""`python -m koryu_pipeline.report [WAREHOUSE]`: the report of a finished warehouse, written
to <warehouse>/report/ (WAREHOUSE defaults to KORYU_WAREHOUSE_DIR, else data/warehouse)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from koryu_pipeline.report.build import build_report, read_marts_for_report
from koryu_pipeline.report.sources import REPORT_DIR, get_codebook


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    warehouse = Path(args[0] if args else os.environ.get("KORYU_WAREHOUSE_DIR", "data/warehouse"))
    paths = build_report(get_codebook(), read_marts_for_report(warehouse), warehouse / REPORT_DIR)
    for kind, path in paths.items():
        print(f"{kind}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
