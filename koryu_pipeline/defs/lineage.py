"""Column lineage (`dagster/column_lineage`) where it is cheap to state: the tables that only
stack or set side by side columns of the question marts. The asset-level lineage is the
registry's `deps`; this says, column by column, which upstream column a figure came from."""

from __future__ import annotations

import dagster as dg

from koryu_pipeline.codebook import Codebook
from koryu_pipeline.defs.checks import asset_key
from koryu_pipeline.warehouse.tables import (
    QUESTION_RESULTS,
    SUPPORT_GAP,
    WAVES,
    Registry,
    question_key,
)

Sources = list[tuple[str, str]]  # (upstream table, its column)

# support_gap: each side's figures from its question's cell; the gap from both percentages
_SIDE = ("n", "base_n", "pct", "option_label", "option_code", "instrument", "question_id")
# waves: this wave's cell and the previous wave's, both from question_results
_PREVIOUS = {"previous_n": "n", "previous_base_n": "base_n", "previous_pct": "pct"}


def _support_gap(codebook: Codebook) -> dict[str, Sources]:
    out: dict[str, Sources] = {}
    for form in codebook.forms:
        for cw in form.crosswalks:
            sides = {
                "hires": question_key(form.instrument, cw.question),
                "ministry": question_key(cw.to_instrument, cw.to_question),
            }
            for side, table in sides.items():
                for column in _SIDE:
                    out.setdefault(f"{side}_{column}", []).append((table, column))
                for gap in ("gap_pct_points", "gap_ci_low", "gap_ci_high"):
                    out.setdefault(gap, []).append((table, "pct"))
            out.setdefault("hires_rank", []).append((sides["hires"], "n"))
            out.setdefault("wave", []).append((sides["hires"], "wave"))
    return {k: list(dict.fromkeys(v)) for k, v in out.items()}


def _waves(registry: Registry) -> dict[str, Sources]:
    results = {c.name for c in registry[QUESTION_RESULTS].columns}
    out: dict[str, Sources] = {}
    for column in registry[WAVES].columns:
        name = column.name
        if name in _PREVIOUS:
            out[name] = [(QUESTION_RESULTS, _PREVIOUS[name])]
        elif name == "previous_wave":
            out[name] = [(QUESTION_RESULTS, "wave")]
        elif name.startswith("diff_"):
            out[name] = [(QUESTION_RESULTS, "pct")]
        elif name in results:
            out[name] = [(QUESTION_RESULTS, name)]
    return out


def column_lineages(codebook: Codebook, registry: Registry) -> dict[str, dg.TableColumnLineage]:
    """Table key -> its column lineage, for the tables it is stated for."""
    stacked = {
        c.name: [(q, c.name) for q in registry[QUESTION_RESULTS].deps]
        for c in registry[QUESTION_RESULTS].columns
    }
    mapped = {
        QUESTION_RESULTS: stacked,
        SUPPORT_GAP: _support_gap(codebook),
        WAVES: _waves(registry),
    }
    out = {}
    for table, columns in mapped.items():
        published = {c.name for c in registry[table].columns}
        out[table] = dg.TableColumnLineage(
            deps_by_column={
                column: [dg.TableColumnDep(asset_key=asset_key(t), column_name=c) for t, c in deps]
                for column, deps in columns.items()
                if deps and column in published
            }
        )
    return out
