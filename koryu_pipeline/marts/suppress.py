"""Small-cell suppression for breakdowns: a group of a handful of organisations (or hires)
would let a reader infer individual answers, so its figures are withheld -- and withholding
one group is not enough where the total and the other groups are published, since the
total minus the others gives it back.

- primary: a group whose base_n is under the threshold;
- secondary (complementary): where a question cell (one item of one question, one wave, one
  attribute) would leave exactly one unknown quantity behind its total -- one suppressed
  group with respondents, or only the respondents without the attribute, if they are few
  -- the published group with the smallest base is withheld too, so that differencing gives
  a sum of two groups, never one. The total row is never withheld: it is the question
  mart's row, published for everyone anyway (so where one group holds everyone who
  answered, its figures are the total's whatever is withheld).

What stays inferable, as with any cell suppression: bounds. When the published figures show
that nobody (or everybody) in the withheld groups chose an option, each withheld group's
count for it is known to be 0 (or its base); no other count can be pinned down.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from koryu_pipeline.warehouse.tables import WITHHELD_COLUMNS

PRIMARY = "primary"
SECONDARY = "secondary"


def suppress(frame: pd.DataFrame, below: int, cell: Sequence[str] = ()) -> pd.DataFrame:
    """Mark the cells to withhold (`suppressed`, and why in `suppression`) and null their
    figures. Bases stay: they say why a cell is empty without revealing an answer. Without
    `cell` (the columns naming one question cell, with `group_code` and `is_total` on the
    frame) only the primary rule applies."""
    out = frame.copy()
    total = (
        out["is_total"].fillna(False).astype(bool)
        if "is_total" in out.columns
        else pd.Series(False, index=out.index)
    )
    primary = ~total & (out["base_n"].astype("int64") < below)
    none = pd.Series(False, index=out.index)
    secondary = _complementary(out, primary, total, below, list(cell)) if cell else none
    small = primary | secondary
    out["suppressed"] = small
    out["suppression"] = pd.Series(
        np.select([primary, secondary], [PRIMARY, SECONDARY], default=""), index=out.index
    ).replace("", None)
    for col in WITHHELD_COLUMNS:
        if col in out.columns:
            out[col] = out[col].astype(object).where(~small, None)
    return out


def _complementary(
    frame: pd.DataFrame, primary: pd.Series, total: pd.Series, below: int, cell: list[str]
) -> pd.Series:
    """The group rows to withhold so that no primary cell is the only unknown of its cell."""
    groups = (
        frame.loc[~total, [*cell, "group_code", "group_sort", "base_n"]]
        .assign(_primary=primary[~total])
        .drop_duplicates([*cell, "group_code"])
    )
    total_rows = frame.loc[total, [*cell, "base_n"]].drop_duplicates(cell)
    totals = {tuple(r[:-1]): int(r[-1]) for r in total_rows.itertuples(index=False, name=None)}
    chosen: list[tuple] = []
    for key, g in groups.groupby(cell, sort=False, dropna=False):
        base = g["base_n"].astype("int64")
        # respondents without the attribute: in the total, in no group, never published
        residual = totals.get(tuple(key), int(base.sum())) - int(base.sum())
        hidden = g["_primary"] & (base > 0)  # a group of nobody hides nothing
        unknowns = int(hidden.sum()) + (residual > 0)
        if unknowns != 1 or not (hidden.any() or residual < below):
            continue
        candidates = g.loc[~g["_primary"] & (base > 0)].sort_values(["base_n", "group_sort"])
        if len(candidates):
            chosen.append((*key, candidates["group_code"].iloc[0]))
    if not chosen:
        return pd.Series(False, index=frame.index)
    picked = pd.DataFrame(chosen, columns=[*cell, "group_code"]).assign(_pick=True)
    marks = frame[[*cell, "group_code"]].merge(picked, on=[*cell, "group_code"], how="left")
    return pd.Series(marks["_pick"].fillna(False).astype(bool).to_numpy(), index=frame.index)
