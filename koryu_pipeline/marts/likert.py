"""Likert summaries: positive (top two scale points), negative (bottom two) and, where the
scale has a don't-know point, positive among those who gave a view."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from koryu_pipeline.codebook import Entry, normalise_text
from koryu_pipeline.marts.intervals import wilson

# Scale points that are not a position on the scale (excluded from top/bottom two).
DONT_KNOW_LABELS: frozenset[str] = frozenset({normalise_text("分からない")})


def scale_codes(entry: Entry) -> tuple[list[int], list[int], list[int]]:
    """(positive, negative, don't-know) option codes of a likert entry."""
    substantive = [o.code for o in entry.options if o.key not in DONT_KNOW_LABELS]
    dont_know = [o.code for o in entry.options if o.key in DONT_KNOW_LABELS]
    return substantive[-2:], substantive[:2], dont_know


def add_likert_summaries(counts: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Per item (`keys` identify one item of one question, wave and group): positive_n/pct,
    negative_n/pct with their Wilson 95% intervals, dont_know_n and positive_pct_excl_dk,
    repeated on every option row of the item. Uses the skeleton's _likert/_has_dk/_pos/_neg/_dk
    flags; nulls elsewhere."""
    out = counts
    grouped = [out[k] for k in keys]
    n = out["n"]
    for col, flag in (("positive_n", "_pos"), ("negative_n", "_neg"), ("dont_know_n", "_dk")):
        out[col] = n.where(out[flag], 0).groupby(grouped, sort=False).transform("sum")
    likert = out["_likert"].to_numpy(dtype=bool)
    has_dk = out["_has_dk"].to_numpy(dtype=bool)
    base = out["base_n"].to_numpy(dtype=float)
    pos = out["positive_n"].to_numpy(dtype=float)
    view = base - out["dont_know_n"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["positive_pct"] = np.where(likert & (base > 0), 100.0 * pos / base, np.nan)
        out["negative_pct"] = np.where(
            likert & (base > 0), 100.0 * out["negative_n"].to_numpy(dtype=float) / base, np.nan
        )
        out["positive_pct_excl_dk"] = np.where(has_dk & (view > 0), 100.0 * pos / view, np.nan)
    # the interval an analyst would otherwise compute by hand for each share (Wilson, as ci_*)
    for side, count in (("positive", pos), ("negative", out["negative_n"].to_numpy(dtype=float))):
        low, high = wilson(count, base)
        out[f"{side}_ci_low"] = np.where(likert & (base > 0), 100.0 * low, np.nan)
        out[f"{side}_ci_high"] = np.where(likert & (base > 0), 100.0 * high, np.nan)
    out["positive_n"] = out["positive_n"].where(likert)
    out["negative_n"] = out["negative_n"].where(likert)
    out["dont_know_n"] = out["dont_know_n"].where(has_dk)
    return out
