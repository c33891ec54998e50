"""The marts, in one call: what the Dagster assets wrap.

    marts = build_marts(codebook, respondents, answers, exposures, suppress_below=5)
    for key, (frame, schema) in marts.items():
        write_parquet(table_path(warehouse, key), frame, schema)

Keys are warehouse-relative table paths (warehouse.md):
  marts/questions/<instrument>/<question_id>   one per question of the codebook
  marts/question_results                        all of them in one
  marts/breakdowns/<instrument>/<attribute>     by respondent attribute, small groups suppressed
  marts/comparisons/support_gap | dispatch_vs_hiring | waves
  marts/headlines
  data_dictionary                               facts, quarantine and every table above
All are unpartitioned (wave is a string column), and every key is known from the codebook
alone (`mart_keys`), so the asset list needs no data at load time.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from koryu_pipeline.codebook import Codebook
from koryu_pipeline.compare import COMPARISON_SCHEMAS, comparison_tables
from koryu_pipeline.dictionary import (
    DATA_DICTIONARY_KEY,
    DATA_DICTIONARY_SCHEMA,
    build_data_dictionary,
)
from koryu_pipeline.headlines import HEADLINES_KEY, HEADLINES_SCHEMA, headlines
from koryu_pipeline.ingest import fact_schemas
from koryu_pipeline.tabulate import (
    BREAKDOWN_SCHEMA,
    QUESTION_SCHEMA,
    breakdown_table_keys,
    breakdown_tables,
    question_results,
    question_table_keys,
    question_tables,
)
from koryu_pipeline.tabulate.suppress import DEFAULT_SUPPRESS_BELOW

QUESTION_RESULTS_KEY = "marts/question_results"

MartTables = dict[str, tuple[pd.DataFrame, pa.Schema]]

__all__ = [
    "QUESTION_RESULTS_KEY",
    "MartTables",
    "breakdown_table_keys",
    "build_marts",
    "fact_schemas",
    "mart_keys",
    "mart_schemas",
    "question_table_keys",
]


def mart_schemas(codebook: Codebook) -> dict[str, pa.Schema]:
    """Every table build_marts returns, key -> schema, in build order."""
    schemas: dict[str, pa.Schema] = dict.fromkeys(question_table_keys(codebook), QUESTION_SCHEMA)
    schemas[QUESTION_RESULTS_KEY] = QUESTION_SCHEMA
    schemas.update(dict.fromkeys(breakdown_table_keys(codebook), BREAKDOWN_SCHEMA))
    schemas.update(COMPARISON_SCHEMAS)
    schemas[HEADLINES_KEY] = HEADLINES_SCHEMA
    schemas[DATA_DICTIONARY_KEY] = DATA_DICTIONARY_SCHEMA
    return schemas


def mart_keys(codebook: Codebook) -> list[str]:
    return list(mart_schemas(codebook))


def build_marts(
    codebook: Codebook,
    respondents: pd.DataFrame,
    answers: pd.DataFrame,
    exposures: pd.DataFrame,
    suppress_below: int = DEFAULT_SUPPRESS_BELOW,
) -> MartTables:
    """All marts from the three fact tables (every instrument and wave)."""
    schemas = mart_schemas(codebook)
    frames: dict[str, pd.DataFrame] = dict(question_tables(codebook, answers, exposures))
    results = question_results(frames)
    frames[QUESTION_RESULTS_KEY] = results
    frames.update(breakdown_tables(codebook, respondents, answers, exposures, suppress_below))
    comparisons = comparison_tables(codebook, results)
    frames.update(comparisons)
    frames[HEADLINES_KEY] = headlines(codebook, results, comparisons)
    frames[DATA_DICTIONARY_KEY] = build_data_dictionary(
        {**fact_schemas(codebook), **{k: s for k, s in schemas.items() if k != DATA_DICTIONARY_KEY}}
    )
    return {key: (frames[key], schema) for key, schema in schemas.items()}
