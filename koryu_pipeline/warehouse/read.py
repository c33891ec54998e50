"""Reading the fact tables back (every instrument and wave) for the marts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from koryu_pipeline.codebook import Codebook
from koryu_pipeline.facts import ANSWERS_SCHEMA, EXPOSURES_SCHEMA, respondents_schema
from koryu_pipeline.warehouse.parquet import read_partitions


def read_facts(
    codebook: Codebook, warehouse: Path
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(respondents, answers, exposures) over all partitions on disk."""
    return (
        read_partitions(warehouse, "facts/respondents", respondents_schema(codebook)),
        read_partitions(warehouse, "facts/answers", ANSWERS_SCHEMA),
        read_partitions(warehouse, "facts/exposures", EXPOSURES_SCHEMA),
    )
