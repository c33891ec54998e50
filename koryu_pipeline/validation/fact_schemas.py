"""Pandera schemas of the fact tables, generated from their Arrow schemas and the codebook:
the asset checks validate what was written against these."""

from __future__ import annotations

import re
from functools import cache

import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_arrow

from koryu_pipeline.codebook import Codebook

PERSONAL_HEADERS = ("メール", "名前")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def _nullable(field: pa_arrow.Field, keys: tuple[str, ...]) -> bool:
    return field.name not in keys


@cache
def fact_schema(
    codebook: Codebook, table: str, arrow_schema: pa_arrow.Schema
) -> pa.DataFrameSchema:
    keys = {
        "facts/respondents": ("respondent_id", "instrument", "wave", "submitted_at"),
        "facts/answers": ("respondent_id", "question_id", "option_code", "option_label"),
        "facts/exposures": ("respondent_id", "question_id", "shown", "answered"),
        "quarantine/rejections": ("source_file", "rule", "message"),
        "quarantine/files": ("source_file", "rows", "accepted", "rejected"),
    }[table]
    columns = {
        f.name: pa.Column(None, nullable=_nullable(f, keys), required=True) for f in arrow_schema
    }
    checks: list[pa.Check] = []
    if table == "facts/respondents":
        columns["respondent_id"] = pa.Column(None, unique=True, nullable=False)
    if table == "facts/answers":
        valid = {
            (f.instrument, f.wave, e.id, o.code, o.label)
            for f in codebook.forms
            for e in f.questions
            for o in e.options
        }

        def codes_match_labels(df: pd.DataFrame) -> pd.Series:
            keys_ = zip(
                df["instrument"],
                df["wave"],
                df["question_id"],
                df["option_code"],
                df["option_label"],
                strict=True,
            )
            return pd.Series([k in valid for k in keys_], index=df.index)

        checks.append(pa.Check(codes_match_labels, name="option_code_matches_codebook"))
        checks.append(
            pa.Check(
                lambda df: (
                    ~df.duplicated(["respondent_id", "question_id", "item_id", "option_code"])
                ),
                name="one_row_per_choice",
            )
        )
    if table == "quarantine/files":
        checks.append(
            pa.Check(
                lambda df: df["accepted"] + df["rejected"] == df["rows"], name="row_conservation"
            )
        )
    return pa.DataFrameSchema(columns, checks=checks, name=table, strict=True)


def _texts(values: pd.Series) -> str:
    """Every distinct text of a column (list cells flattened), one per line."""
    seen: set[str] = set()
    for v in values.dropna().unique() if values.dtype != object else values.dropna():
        if isinstance(v, tuple | list) or hasattr(v, "tolist"):
            seen.update(str(x) for x in (v.tolist() if hasattr(v, "tolist") else v))
        else:
            seen.add(str(v))
    return "\n".join(seen)


def personal_data_found(frame: pd.DataFrame) -> list[str]:
    """Columns that carry personal data: a personal header, or an e-mail address in a
    cell. Empty when clean. One regex pass over each text column's distinct values."""
    found = [c for c in frame.columns if any(h in str(c) for h in PERSONAL_HEADERS)]
    for c in frame.columns:
        col = frame[c]
        if not (col.dtype == object or pd.api.types.is_string_dtype(col)):
            continue  # numbers, booleans and timestamps cannot hold an address
        if EMAIL.search(_texts(col)):
            found.append(c)
    return found
