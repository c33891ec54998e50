"""Arrow-typed pandas frames: every mart is returned as (frame, schema) and the frame is
exactly what the schema says (column order, nullable ints, no categoricals)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import pyarrow as pa

# Nullable pandas dtypes, so an int column with nulls stays int (not float) on the way back.
PANDAS_TYPES: dict[pa.DataType, object] = {
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}


def to_table(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """A pandas frame as an Arrow table of exactly `schema` (column order, types), with no
    pandas metadata, so the bytes depend on the data alone."""
    missing = [f.name for f in schema if f.name not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks columns {missing}")
    table = pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)
    return table.replace_schema_metadata(None)


def conform(frame: pd.DataFrame, schema: pa.Schema, sort_by: Sequence[str] = ()) -> pd.DataFrame:
    """`frame` cast to `schema` (via Arrow, so a value that does not fit fails here and not
    in the writer), columns in schema order, rows sorted by `sort_by` (nulls first) for
    byte-identical output from identical input."""
    missing = [f.name for f in schema if f.name not in frame.columns]
    for name in missing:
        frame = frame.assign(**{name: None})
    if sort_by and len(frame):
        frame = frame.sort_values(list(sort_by), kind="stable", na_position="first")
    frame = frame.reset_index(drop=True)
    try:  # Arrow's vectorised conversion (safe casts only: 1.5 never becomes 1) ...
        table = pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        table = to_table(frame, schema)  # ... and the writer's value-by-value path otherwise
    return table.to_pandas(types_mapper=PANDAS_TYPES.get)


def empty(schema: pa.Schema) -> pd.DataFrame:
    return conform(pd.DataFrame(columns=schema.names), schema)
