"""Standard Dagster metadata for a table. The column schema is static (the registry's), so
it goes on the asset definition (`definition_metadata`), with each column's description;
each materialisation carries what changes: row count, path, a preview."""

from __future__ import annotations

from typing import Any

import dagster as dg
import pandas as pd
import pyarrow as pa

from koryu_pipeline.warehouse.tables import TableSpec

_TYPES = {
    pa.string(): "string",
    pa.int16(): "int16",
    pa.int32(): "int32",
    pa.int64(): "int64",
    pa.float64(): "float64",
    pa.bool_(): "bool",
}


def column_schema(spec: TableSpec) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                c.name,
                _TYPES.get(c.type, str(c.type)),
                description=c.description or None,
                constraints=dg.TableColumnConstraints(nullable=not c.required),
            )
            for c in spec.columns
        ]
    )


def definition_metadata(spec: TableSpec) -> dict[str, Any]:
    return {"dagster/column_schema": column_schema(spec)}


def table_metadata(
    frame: pd.DataFrame | pa.Table, path: str, rows: int | None = None, **extra: Any
) -> dict[str, Any]:
    """`rows`: the table's row count when `frame` is only its first rows."""
    table = (
        frame
        if isinstance(frame, pa.Table)
        else pa.Table.from_pandas(frame.head(5), preserve_index=False)
    )
    preview = table.slice(0, 5).to_pylist()
    return {
        "dagster/row_count": len(frame) if rows is None else rows,
        "path": dg.MetadataValue.path(path),
        "preview": dg.MetadataValue.md(_markdown(preview)),
        **extra,
    }


def _markdown(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "_(no rows)_"
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in rows:
        cells = [("" if v is None else str(v)).replace("|", "\\|")[:40] for v in row.values()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def headlines_markdown(frame: pd.DataFrame) -> dg.MarkdownMetadataValue:
    """Every headline in full, per wave and slide: the preview cuts cells at 40 characters,
    and these sentences are what the table is read for."""
    lines: list[str] = []
    for wave, rows in frame.groupby("wave", sort=True):
        lines.append(f"### Wave {wave}")
        for r in rows.sort_values("slide").itertuples(index=False):
            text = r.headline if isinstance(r.headline, str) else "_(no finding: no data)_"
            source = f" _(from {r.sources})_" if isinstance(r.sources, str) else ""
            lines += [f"**{r.slide}. {r.title}**", "", f"{text}{source}", ""]
    return dg.MetadataValue.md("\n".join(lines) or "_(no headlines)_")
