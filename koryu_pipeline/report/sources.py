"""Everything the report takes from the rest of the pipeline, in one place."""

from __future__ import annotations

from koryu_pipeline.codebook import Codebook, Entry, Form, get_codebook, normalise_text
from koryu_pipeline.marts.headlines import fullwidth, load_rules
from koryu_pipeline.marts.likert import DONT_KNOW_LABELS
from koryu_pipeline.warehouse.parquet import write_atomic
from koryu_pipeline.warehouse.tables import DISPATCH_VS_HIRING as DISPATCH_VS_HIRING_KEY
from koryu_pipeline.warehouse.tables import HEADLINES as HEADLINES_KEY
from koryu_pipeline.warehouse.tables import QUESTION_RESULTS as QUESTION_RESULTS_KEY
from koryu_pipeline.warehouse.tables import REPORT_DIR, question_key
from koryu_pipeline.warehouse.tables import SUPPORT_GAP as SUPPORT_GAP_KEY
from koryu_pipeline.warehouse.tables import WAVES as WAVES_KEY

COMPARISON_KEYS = (SUPPORT_GAP_KEY, DISPATCH_VS_HIRING_KEY, WAVES_KEY)

__all__ = [
    "COMPARISON_KEYS",
    "DISPATCH_VS_HIRING_KEY",
    "DONT_KNOW_LABELS",
    "HEADLINES_KEY",
    "QUESTION_RESULTS_KEY",
    "REPORT_DIR",
    "SUPPORT_GAP_KEY",
    "WAVES_KEY",
    "Codebook",
    "Entry",
    "Form",
    "fullwidth",
    "get_codebook",
    "load_rules",
    "normalise_text",
    "question_key",
    "write_atomic",
]
