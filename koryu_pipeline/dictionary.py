"""`data_dictionary`: one row per published table x column, from the Arrow schemas of the
tables and the description catalogue codebook/columns.yaml (descriptions are data)."""

from __future__ import annotations

from fnmatch import fnmatch
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from koryu_pipeline.codebook.model import load_yaml
from koryu_pipeline.tabulate.frames import conform

DATA_DICTIONARY_KEY = "data_dictionary"
CATALOGUE_PATH = Path(__file__).parent / "codebook" / "columns.yaml"

DATA_DICTIONARY_SCHEMA = pa.schema(
    [
        ("table", pa.string()),
        ("column", pa.string()),
        ("type", pa.string()),
        ("description_ja", pa.string()),
        ("description_en", pa.string()),
        ("position", pa.int16()),
    ]
)


@cache
def load_catalogue(path: Path = CATALOGUE_PATH) -> dict[str, Any]:
    data = load_yaml(path)
    return {"tables": data.get("tables") or {}, "columns": data.get("columns") or {}}


def describe_column(
    table: str, column: str, catalogue: dict[str, Any] | None = None
) -> tuple[str | None, str | None]:
    """(ja, en) for a column of a table; None where the catalogue has nothing."""
    cat = catalogue or load_catalogue()
    for pattern, cols in cat["tables"].items():
        if fnmatch(table, pattern) and column in cols:
            d = cols[column]
            return d.get("ja"), d.get("en")
    d = cat["columns"].get(column)
    if d:
        return d.get("ja"), d.get("en")
    if column.endswith("_code"):
        base = describe_column(table, column.removesuffix("_code"), cat)
        if base[0] and base[1]:
            return f"{base[0]}（コード）", f"{base[1]} (code)"
    return None, None


def build_data_dictionary(
    schemas: dict[str, pa.Schema], catalogue: dict[str, Any] | None = None
) -> pd.DataFrame:
    """The dictionary of `schemas` (table key -> schema) plus itself."""
    all_schemas = {**schemas, DATA_DICTIONARY_KEY: DATA_DICTIONARY_SCHEMA}
    rows = []
    for table, schema in all_schemas.items():
        for position, f in enumerate(schema, start=1):
            ja, en = describe_column(table, f.name, catalogue)
            rows.append(
                {
                    "table": table,
                    "column": f.name,
                    "type": str(f.type),
                    "description_ja": ja,
                    "description_en": en,
                    "position": position,
                }
            )
    return conform(pd.DataFrame(rows), DATA_DICTIONARY_SCHEMA, ("table", "position"))


def undescribed(dictionary: pd.DataFrame) -> list[str]:
    """`table.column` of every row lacking a ja or en description."""
    bad = dictionary["description_ja"].isna() | dictionary["description_en"].isna()
    return [f"{t}.{c}" for t, c in dictionary.loc[bad, ["table", "column"]].itertuples(index=False)]
