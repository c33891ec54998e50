"""The marts, in one call: what the Dagster assets wrap.

    marts = build_marts(codebook, respondents, answers, exposures, suppress_below=5)
    for key, (frame, schema) in marts.items():
        write_parquet(table_path(warehouse, key), frame, schema)

Keys are the registry's mart tables (warehouse/tables.py), in its order: every per-question
table, question_results, the breakdowns, the comparisons, headlines and the data
dictionary. All are unpartitioned (wave is a string column), and every key is known from
the codebook alone, so the asset list needs no data at load time.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from koryu_pipeline.codebook import Codebook
from koryu_pipeline.marts.breakdowns import breakdown_tables
from koryu_pipeline.marts.codes import code_facts
from koryu_pipeline.marts.comparisons import comparison_tables
from koryu_pipeline.marts.dictionary import build_data_dictionary
from koryu_pipeline.marts.headlines import headlines
from koryu_pipeline.marts.questions import question_results, question_tables
from koryu_pipeline.warehouse.tables import (
    DATA_DICTIONARY,
    HEADLINES,
    QUESTION_RESULTS,
    mart_tables,
    table_registry,
)

MartTables = dict[str, tuple[pd.DataFrame, pa.Schema]]


def build_marts(
    codebook: Codebook,
    respondents: pd.DataFrame,
    answers: pd.DataFrame,
    exposures: pd.DataFrame,
    suppress_below: int,
) -> MartTables:
    """All marts from the three fact tables (every instrument and wave)."""
    registry = table_registry(codebook)
    # coded once: every count below is a bincount over these codes (marts/codes.py)
    facts = code_facts(answers, exposures)
    frames: dict[str, pd.DataFrame] = dict(
        question_tables(codebook, answers, exposures, facts=facts)
    )
    results = question_results(frames)
    frames[QUESTION_RESULTS] = results
    frames.update(
        breakdown_tables(codebook, respondents, answers, exposures, suppress_below, facts=facts)
    )
    del facts
    comparisons = comparison_tables(codebook, results)
    frames.update(comparisons)
    frames[HEADLINES] = headlines(codebook, results, comparisons)
    frames[DATA_DICTIONARY] = build_data_dictionary(registry)
    return {spec.key: (frames[spec.key], spec.schema) for spec in mart_tables(registry)}
