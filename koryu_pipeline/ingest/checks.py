"""The fact tables' checks, as plain functions returning a CheckOutcome. Which table has
which check is the registry's to say (warehouse/tables.py); the Dagster layer only maps the
outcomes to asset check results.

- `pandera_schema`: the table against its pandera schema, generated from the registry (the
  required columns, the unique key) plus the codebook's option codes for facts/answers;
- `row_conservation`: accepted + rejected = rows for every file, and the accepted are the
  respondents;
- `no_personal_data`: no personal column, e-mail address or telephone number in any table
  of the wave (`warehouse/personal.py`; the writer runs the same test before committing).

Each check takes the wave's tables as frames or Arrow tables. The ingest's checks see the
tables as written: `written_tables` reads each from disk (as Arrow) when a check asks for it
and keeps none, so a wave's tables are never all in memory at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow

from koryu_pipeline.codebook import Codebook, wave_number
from koryu_pipeline.warehouse.parquet import partitions_table
from koryu_pipeline.warehouse.personal import personal_data_found, personal_data_in
from koryu_pipeline.warehouse.tables import (
    ANSWERS,
    FILES,
    RESPONDENTS,
    CheckFn,
    CheckOutcome,
    Tables,
    TableSpec,
    table_registry,
)

__all__ = ["FACT_CHECKS", "fact_schema", "personal_data_found"]  # the tests' imports too

_OPTION_KEY = ("instrument", "wave", "question_id", "option_code", "option_label")


def _option_codes_check(codebook: Codebook) -> pa.Check:
    valid = {
        (f.instrument, wave_number(f.wave), e.id, o.code, o.label)
        for f in codebook.forms
        for e in f.questions
        for o in e.options
    }

    def codes_match_labels(df: pd.DataFrame) -> pd.Series:
        # The rows' distinct keys (a few hundred among millions of rows), each looked up
        # once: the columns factorised one by one into one key code per row.
        codes = np.zeros(len(df), dtype=np.int64)
        for column in _OPTION_KEY:
            part, uniques = pd.factorize(df[column], use_na_sentinel=False)
            codes, _ = pd.factorize(codes * len(uniques) + part)  # stays below len(df)
        combos = int(codes.max()) + 1 if len(codes) else 0
        row = np.empty(combos, dtype=np.int64)
        row[codes] = np.arange(len(df))  # any row of a key stands for it
        keys = zip(*(df[c].iloc[row].tolist() for c in _OPTION_KEY), strict=True)
        known = np.array([k in valid for k in keys], dtype=bool)
        return pd.Series(known[codes], index=df.index)

    return pa.Check(codes_match_labels, name="option_code_matches_codebook")


@cache
def fact_schema(codebook: Codebook, table: str) -> pa.DataFrameSchema:
    """A fact table's pandera schema, from its registry entry."""
    spec: TableSpec = table_registry(codebook)[table]
    required = set(spec.required)
    columns = {
        c.name: pa.Column(None, nullable=c.name not in required, required=True)
        for c in spec.columns
    }
    checks: list[pa.Check] = []
    if len(spec.unique) == 1:
        columns[spec.unique[0]] = pa.Column(None, unique=True, nullable=False)
    elif spec.unique:
        keys = list(spec.unique)
        checks.append(pa.Check(lambda df: ~df.duplicated(keys), name="one_row_per_key"))
    if table == ANSWERS:
        checks.append(_option_codes_check(codebook))
    if table == FILES:
        checks.append(
            pa.Check(
                lambda df: df["accepted"] + df["rejected"] == df["rows"], name="row_conservation"
            )
        )
    return pa.DataFrameSchema(columns, checks=checks, name=table, strict=True)


def pandera_schema(codebook: Codebook, table: str, tables: Tables) -> CheckOutcome:
    frame = _frame(tables[table])
    try:
        # inplace: nothing is coerced or added, so the copy pandera would make is not needed
        fact_schema(codebook, table).validate(frame, lazy=True, inplace=True)
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
        return CheckOutcome(
            False,
            {"failures": len(cases), "first_failures": f"```\n{cases.head(10)}\n```"},
        )
    return CheckOutcome(True, {"rows": len(frame)})


def row_conservation(codebook: Codebook, table: str, tables: Tables) -> CheckOutcome:
    files = _frame(tables[FILES])
    accepted = int(files["accepted"].sum()) if not files.empty else 0
    respondents = len(tables[RESPONDENTS])
    bad = files[files["accepted"] + files["rejected"] != files["rows"]] if len(files) else files
    return CheckOutcome(
        bool(bad.empty and accepted == respondents),
        {
            "files": len(files),
            "rows": int(files["rows"].sum()) if len(files) else 0,
            "accepted": accepted,
            "facts/respondents rows": respondents,
            "unbalanced_files": ", ".join(bad["source_file"]) if len(bad) else "",
        },
    )


def no_personal_data(codebook: Codebook, table: str, tables: Tables) -> CheckOutcome:
    found: dict[str, list[str]] = {}
    for key in tables:  # one table at a time: the texts of all at once would not fit
        found.update(personal_data_in({key: tables[key]}))
    return CheckOutcome(not found, {"columns_with_personal_data": found})


class _Written(Mapping[str, pyarrow.Table]):
    def __init__(
        self, codebook: Codebook, root: Path, wave: str, made: Mapping[str, list[str]]
    ) -> None:
        self.codebook, self.root, self.wave, self.made = codebook, Path(root), wave, dict(made)

    def __getitem__(self, table: str) -> pyarrow.Table:
        # the tables read before are gone: Arrow's allocator (mimalloc) keeps their pages
        # for reuse unless told to give them back
        pyarrow.default_memory_pool().release_unused()
        made = [(i, self.wave) for i in self.made[table]]
        return partitions_table(self.codebook, self.root, table, made)

    def __iter__(self) -> Iterator[str]:
        return iter(self.made)

    def __len__(self) -> int:
        return len(self.made)


def written_tables(
    codebook: Codebook, root: Path, wave: str, made: Mapping[str, list[str]]
) -> Mapping[str, pyarrow.Table]:
    """One wave's tables as written under `root`, as Arrow tables, each read from disk
    whenever a check asks for it (`made`: table -> the instruments it was written for)."""
    return _Written(codebook, root, wave, made)


def _frame(data: pd.DataFrame | pyarrow.Table) -> pd.DataFrame:
    """A table as pandas, as the pandera checks take it (read back as `read_partition`
    gives it)."""
    return data.to_pandas() if isinstance(data, pyarrow.Table) else data


FACT_CHECKS: dict[str, CheckFn] = {
    "pandera_schema": pandera_schema,
    "row_conservation": row_conservation,
    "no_personal_data": no_personal_data,
}
