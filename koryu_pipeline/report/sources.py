"""Everything the report takes from the rest of the pipeline, in one place.

The pipeline's modules are being moved; when they are, only these imports change.
"""

from __future__ import annotations

from koryu_pipeline.codebook import Codebook, Entry, Form, get_codebook, normalise_text
from koryu_pipeline.compare import DISPATCH_VS_HIRING_KEY, SUPPORT_GAP_KEY, WAVES_KEY
from koryu_pipeline.headlines import HEADLINES_KEY, fullwidth, load_rules
from koryu_pipeline.tabulate.likert import DONT_KNOW_LABELS
from koryu_pipeline.tabulate.questions import question_key
from koryu_pipeline.warehouse.parquet import write_atomic

QUESTION_RESULTS_KEY = "marts/question_results"
COMPARISON_KEYS = (SUPPORT_GAP_KEY, DISPATCH_VS_HIRING_KEY, WAVES_KEY)

__all__ = [
    "COMPARISON_KEYS",
    "DISPATCH_VS_HIRING_KEY",
    "DONT_KNOW_LABELS",
    "HEADLINES_KEY",
    "QUESTION_RESULTS_KEY",
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
