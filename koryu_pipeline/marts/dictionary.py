"""`data_dictionary`: one row per published table x column, read off the table registry
(warehouse/tables.py), whose column descriptions come from the catalogue columns.yaml."""

from __future__ import annotations

import pandas as pd

from koryu_pipeline.warehouse.frames import conform
from koryu_pipeline.warehouse.sql import sql_columns, sql_table_name
from koryu_pipeline.warehouse.tables import (
    DATA_DICTIONARY_SCHEMA,
    DATA_DICTIONARY_SORT,
    Registry,
    sql_tables,
)


def build_data_dictionary(registry: Registry) -> pd.DataFrame:
    """Every table of the registry that analysts read (facts, quarantine, marts, itself),
    each also in the SQL copy: `sql_table` / `sql_column` say what it is called there
    (null for a column the SQL copy leaves out)."""
    rows = []
    for spec in sql_tables(registry):
        in_sql = dict(sql_columns(spec.schema))
        for position, c in enumerate(spec.columns, start=1):
            rows.append(
                {
                    "table": spec.key,
                    "column": c.name,
                    "type": str(c.type),
                    "description_ja": c.description_ja,
                    "description_en": c.description_en,
                    "position": position,
                    "table_name": spec.key,
                    "column_name": c.name,
                    "sql_table": sql_table_name(spec.key),
                    "sql_column": in_sql.get(c.name),
                    "table_description": spec.description,
                }
            )
    return conform(pd.DataFrame(rows), DATA_DICTIONARY_SCHEMA, DATA_DICTIONARY_SORT)


def undescribed(dictionary: pd.DataFrame) -> list[str]:
    """`table.column` of every row lacking a ja or en description."""
    bad = dictionary["description_ja"].isna() | dictionary["description_en"].isna()
    return [f"{t}.{c}" for t, c in dictionary.loc[bad, ["table", "column"]].itertuples(index=False)]
