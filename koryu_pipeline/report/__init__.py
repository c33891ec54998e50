"""The results summary (結果概要): HTML, PowerPoint and an Excel workbook of the tables, built
from the marts and the codebook.

    marts = read_marts_for_report(warehouse)
    build_report(get_codebook(), marts, warehouse / "report")
"""

from koryu_pipeline.report.build import build_report, read_marts_for_report
from koryu_pipeline.report.sources import REPORT_DIR

__all__ = ["REPORT_DIR", "build_report", "read_marts_for_report"]
