"""Schemas of the per-question marts and their breakdowns (warehouse.md).

One fixed column set for every question, whatever its type, so `marts/question_results` is a
plain concatenation: the likert-only columns are null for choice questions.
"""

from __future__ import annotations

import pyarrow as pa

# The contract's columns first, in its order; then what we add (additions only, ever).
QUESTION_SCHEMA = pa.schema(
    [
        ("instrument", pa.string()),
        ("wave", pa.string()),
        ("question_id", pa.string()),
        ("item_id", pa.string()),
        ("item_label", pa.string()),
        ("option_code", pa.int16()),
        ("option_label", pa.string()),
        ("option_sort", pa.int16()),
        ("n", pa.int32()),
        ("base_n", pa.int32()),
        ("shown_n", pa.int32()),
        ("pct", pa.float64()),
        ("ci_low", pa.float64()),
        ("ci_high", pa.float64()),
        ("suppressed", pa.bool_()),
        ("positive_pct", pa.float64()),
        ("negative_pct", pa.float64()),
        ("positive_pct_excl_dk", pa.float64()),
        ("pct_of_responses", pa.float64()),
        ("positive_n", pa.int32()),
        ("negative_n", pa.int32()),
        ("dont_know_n", pa.int32()),
        ("question_type", pa.string()),
        ("question_sort", pa.int16()),
        ("slide", pa.int16()),
        ("title", pa.string()),
        ("item_sort", pa.int16()),
    ]
)

QUESTION_SORT = ("wave", "item_sort", "option_sort")
RESULTS_SORT = ("instrument", "wave", "question_sort", "item_sort", "option_sort")

# A breakdown cell is a question cell within one group of respondents.
_GROUP_FIELDS = [
    pa.field("attribute", pa.string()),
    pa.field("group_code", pa.int16()),
    pa.field("group_label", pa.string()),
    pa.field("group_sort", pa.int16()),
]
BREAKDOWN_SCHEMA = pa.schema(
    [*list(QUESTION_SCHEMA)[:3], *_GROUP_FIELDS, *list(QUESTION_SCHEMA)[3:]]
)
BREAKDOWN_SORT = ("wave", "question_sort", "group_sort", "item_sort", "option_sort")

# Every percentage (or interval bound, in percent) a question table carries.
PERCENT_COLUMNS = (
    "pct",
    "ci_low",
    "ci_high",
    "positive_pct",
    "negative_pct",
    "positive_pct_excl_dk",
    "pct_of_responses",
)
# Columns that reveal what a small group answered: withheld (null) in a suppressed cell.
WITHHELD_COLUMNS = ("n", *PERCENT_COLUMNS, "positive_n", "negative_n", "dont_know_n")
