"""Tabulation of the fact tables into the per-question marts and their breakdowns."""

from koryu_pipeline.tabulate.breakdowns import (
    breakdown_attributes,
    breakdown_key,
    breakdown_table_keys,
    breakdown_tables,
)
from koryu_pipeline.tabulate.intervals import newcombe, wilson
from koryu_pipeline.tabulate.questions import (
    question_key,
    question_results,
    question_table_keys,
    question_tables,
)
from koryu_pipeline.tabulate.schema import BREAKDOWN_SCHEMA, QUESTION_SCHEMA
from koryu_pipeline.tabulate.suppress import suppress

__all__ = [
    "BREAKDOWN_SCHEMA",
    "QUESTION_SCHEMA",
    "breakdown_attributes",
    "breakdown_key",
    "breakdown_table_keys",
    "breakdown_tables",
    "newcombe",
    "question_key",
    "question_results",
    "question_table_keys",
    "question_tables",
    "suppress",
    "wilson",
]
