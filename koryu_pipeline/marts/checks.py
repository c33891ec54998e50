"""Checks on the built marts, as plain functions. `check_*` return (passed, metadata) with
a "description" and, on failure, a few offending rows; the registry's named checks
(`MART_CHECKS`, declared per table in warehouse/tables.py) wrap them as CheckOutcomes."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from koryu_pipeline.codebook import Codebook
from koryu_pipeline.marts.codes import cell_codes, truthy
from koryu_pipeline.warehouse.tables import (
    EXPOSURES,
    PERCENT_COLUMNS,
    QUESTION_RESULTS,
    CheckFn,
    CheckOutcome,
    Tables,
)

CheckResult = tuple[bool, dict[str, Any]]

_CELL = ["instrument", "wave", "question_id", "item_id"]
_EPS = 1e-9
_EXAMPLES = 5


def _examples(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    """A few offending rows as plain JSON values (for check metadata)."""
    head = frame[[c for c in columns if c in frame.columns]].head(_EXAMPLES)
    return json.loads(head.to_json(orient="records", force_ascii=False))


def check_pct_range(frame: pd.DataFrame) -> CheckResult:
    """Every percentage (and interval bound) lies within 0-100."""
    bad = pd.Series(False, index=frame.index)
    for col in PERCENT_COLUMNS:
        if col in frame.columns:
            v = frame[col].astype(float)
            bad |= v.notna() & ((v < -_EPS) | (v > 100 + _EPS))
    return (
        not bad.any(),
        {
            "description": "pct, ci and likert percentages within 0-100",
            "bad_rows": int(bad.sum()),
            "examples": _examples(frame.loc[bad], [*_CELL, "option_code", *PERCENT_COLUMNS]),
        },
    )


def check_single_choice_sums(results: pd.DataFrame) -> CheckResult:
    """A single-choice question (and each likert item, a single choice per row) has option
    n summing to its base: every answering respondent chose exactly one option."""
    single = results.loc[results["question_type"].isin(["single", "likert"])]
    sums = (
        single.groupby(_CELL, dropna=False)
        .agg(n_sum=("n", "sum"), base_n=("base_n", "first"))
        .reset_index()
    )
    bad = sums.loc[sums["n_sum"] != sums["base_n"]]
    return (
        bad.empty,
        {
            "description": "single-choice and likert-item option counts sum to base_n",
            "cells_checked": len(sums),
            "bad_cells": len(bad),
            "examples": _examples(bad, [*_CELL, "n_sum", "base_n"]),
        },
    )


def check_base_le_shown(frame: pd.DataFrame) -> CheckResult:
    """Nobody answers a question the routing did not show, and n never exceeds the base."""
    n = frame["n"].astype(float)
    bad = (frame["base_n"] > frame["shown_n"]) | (n.notna() & (n > frame["base_n"]))
    return (
        not bad.any(),
        {
            "description": "n <= base_n <= shown_n",
            "bad_rows": int(bad.sum()),
            "examples": _examples(
                frame.loc[bad], [*_CELL, "option_code", "n", "base_n", "shown_n"]
            ),
        },
    )


def check_bases_match_facts(results: pd.DataFrame, exposures: pd.DataFrame) -> CheckResult:
    """The marts' bases recounted from facts/exposures: shown_n = routed, base_n = routed and
    answered, for every question (item) and wave. Counted on integer codes of the cells
    (marts/codes.py), not by grouping the exposures on their strings."""
    cell, cells = cell_codes(exposures, _CELL)
    shown = truthy(exposures["shown"])
    took = shown & truthy(exposures["answered"])
    facts = cells.assign(
        fact_shown_n=np.bincount(cell[shown], minlength=len(cells)),
        fact_base_n=np.bincount(cell[took], minlength=len(cells)),
    )
    marts = results.drop_duplicates(_CELL)[[*_CELL, "base_n", "shown_n"]]
    both = marts.merge(facts, on=_CELL, how="left")
    both[["fact_shown_n", "fact_base_n"]] = both[["fact_shown_n", "fact_base_n"]].fillna(0)
    bad = both.loc[
        (both["base_n"].astype("int64") != both["fact_base_n"].astype("int64"))
        | (both["shown_n"].astype("int64") != both["fact_shown_n"].astype("int64"))
    ]
    return (
        bad.empty,
        {
            "description": "base_n and shown_n equal the recount from facts/exposures",
            "cells_checked": len(both),
            "bad_cells": len(bad),
            "examples": _examples(
                bad, [*_CELL, "base_n", "fact_base_n", "shown_n", "fact_shown_n"]
            ),
        },
    )


def check_suppression_holds(frame: pd.DataFrame) -> CheckResult:
    """No question cell of a breakdown publishes its total and all groups but one withheld
    group with respondents: the total less the others would give that group back. (Where
    that group is everyone who answered, its figures are the total's, which the question
    table publishes anyway: nothing to protect there.)"""
    if "is_total" not in frame.columns or frame.empty:
        return True, {"description": "no withheld cell recoverable by differencing"}
    keys = ["instrument", "wave", "attribute", "question_id", "item_id"]
    cells = frame.assign(item_id=frame["item_id"].fillna(""))
    total = cells["is_total"].fillna(False).astype(bool)
    groups = cells.loc[~total].drop_duplicates([*keys, "group_code"])
    hidden = groups["suppressed"].fillna(False).astype(bool) & (groups["base_n"] > 0)
    per_cell = (
        groups.assign(_hidden=hidden, _some=groups["base_n"] > 0)
        .groupby(keys)
        .agg(hidden=("_hidden", "sum"), with_answers=("_some", "sum"), grouped=("base_n", "sum"))
    )
    totals = cells.loc[total].drop_duplicates(keys).set_index(keys)["base_n"]
    per_cell["residual"] = totals.reindex(per_cell.index).fillna(0) - per_cell["grouped"]
    lone = (per_cell["hidden"] == 1) & (per_cell["residual"] <= 0)
    bad = per_cell.loc[lone & (per_cell["with_answers"] > 1)].reset_index()
    return (
        bad.empty,
        {
            "description": "no withheld cell recoverable by differencing",
            "bad_cells": len(bad),
            "examples": _examples(bad, keys),
        },
    )


def _results(tables: Tables) -> pd.DataFrame:
    return tables[QUESTION_RESULTS]


def pct_range(codebook: Codebook, key: str, tables: Tables) -> CheckOutcome:
    return _outcome(check_pct_range(tables[key]))


def base_le_shown(codebook: Codebook, key: str, tables: Tables) -> CheckOutcome:
    return _outcome(check_base_le_shown(tables[key]))


def single_choice_sums(codebook: Codebook, key: str, tables: Tables) -> CheckOutcome:
    return _outcome(check_single_choice_sums(tables[key]))


def bases_match_facts(codebook: Codebook, key: str, tables: Tables) -> CheckOutcome:
    return _outcome(check_bases_match_facts(tables[key], tables[EXPOSURES]))


def figures_valid(codebook: Codebook, key: str, tables: Tables) -> CheckOutcome:
    """pct_range, base_le_shown and suppression_holds as one check (a breakdown has one per
    table: every check costs events in Dagster's log)."""
    parts = {
        "pct_range": check_pct_range(tables[key]),
        "base_le_shown": check_base_le_shown(tables[key]),
        "suppression_holds": check_suppression_holds(tables[key]),
    }
    metadata = {
        f"{name}.{k}": v
        for name, (_, meta) in parts.items()
        for k, v in meta.items()
        if k != "description"
    }
    return CheckOutcome(all(ok for ok, _ in parts.values()), metadata)


def _outcome(result: CheckResult) -> CheckOutcome:
    passed, meta = result
    return CheckOutcome(passed, {k: v for k, v in meta.items() if k != "description"})


MART_CHECKS: dict[str, CheckFn] = {
    "pct_range": pct_range,
    "base_le_shown": base_le_shown,
    "single_choice_sums": single_choice_sums,
    "bases_match_facts": bases_match_facts,
    "figures_valid": figures_valid,
}
