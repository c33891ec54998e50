"""Reading the fact tables back (every instrument and wave) for the marts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from koryu_pipeline.codebook import Codebook
from koryu_pipeline.warehouse.parquet import read_partitions
from koryu_pipeline.warehouse.tables import FACT_INPUTS, table_registry


def read_facts(
    codebook: Codebook, warehouse: Path
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(respondents, answers, exposures) over all partitions on disk."""
    registry = table_registry(codebook)
    respondents, answers, exposures = (
        read_partitions(warehouse, key, registry[key].schema) for key in FACT_INPUTS
    )
    return respondents, answers, exposures
