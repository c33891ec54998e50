"""Small-cell suppression for breakdowns: a group of a handful of organisations (or hires)
would let a reader infer individual answers, so its figures are withheld."""

from __future__ import annotations

import pandas as pd

from koryu_pipeline.warehouse.tables import WITHHELD_COLUMNS


def suppress(frame: pd.DataFrame, below: int) -> pd.DataFrame:
    """Mark cells whose base_n is below `below` as suppressed and null their figures.
    Bases stay: they say why a cell is empty without revealing an answer."""
    out = frame.copy()
    small = out["base_n"].astype("int64") < below
    out["suppressed"] = small
    for col in WITHHELD_COLUMNS:
        if col in out.columns:
            out[col] = out[col].astype(object).where(~small, None)
    return out
