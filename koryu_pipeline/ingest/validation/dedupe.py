"""Responses that appear twice.

- The same response in two exports (a partial export and the final one): kept once, from the
  most complete export; every other copy is a `duplicate`.
- The same respondent identity submitted twice (the form's `supersede_on` entries, e.g.
  organisation + personnel line): the latest submission wins, the earlier are `superseded`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from koryu_pipeline.codebook import Form
from koryu_pipeline.codebook.routing import distinct
from koryu_pipeline.warehouse.personal import MARKER


def joined_text(frame: pd.DataFrame, columns: list[str], sep: str) -> pd.Series:
    """Each row's cells in `columns` as text ("" where missing) joined by `sep`: built once
    per distinct combination of cells, not per row."""
    if frame.empty or not columns:
        return pd.Series(
            [sep.join("" for _ in columns)] * len(frame), index=frame.index, dtype=object
        )
    texts: list[list[str]] = []
    codes = []
    for c in columns:
        col_codes, uniques = distinct(frame[c])
        texts.append([str(u) for u in uniques] + [""])  # code -1 (missing) picks ""
        codes.append(col_codes)
    combos, inverse = np.unique(np.stack(codes, axis=1), axis=0, return_inverse=True)
    joined = np.array(
        [sep.join(texts[j][code] for j, code in enumerate(combo)) for combo in combos],
        dtype=object,
    )
    return pd.Series(joined[inverse.reshape(-1)], index=frame.index, dtype=object)


def _file_rank(wide: pd.DataFrame) -> pd.Series:
    """Order exports from most to least authoritative: the one reaching the latest
    submission (a later export covers more), then the larger one, then by name."""
    stats = wide.groupby("source_file").agg(
        last=("submitted_at", "max"), rows=("source_row", "size")
    )
    # a file none of whose times can be read ranks last (no fill value: pandas refuses a
    # Timestamp fill for a column of another unit)
    ordered = stats.reset_index().sort_values(
        ["last", "rows", "source_file"],
        ascending=[False, False, False],
        kind="stable",
        na_position="last",
    )
    return pd.Series(range(len(ordered)), index=ordered["source_file"].to_numpy())


def find_duplicates(wide: pd.DataFrame) -> pd.DataFrame:
    """Rows that repeat a response kept elsewhere: index, kept_file, kept_row."""
    if wide.empty or wide["response_key"].is_unique:
        return pd.DataFrame(columns=["kept_file", "kept_row"])
    rank = wide["source_file"].map(_file_rank(wide))
    order = wide.assign(_rank=rank).sort_values(["_rank", "source_row"], kind="stable")
    first = order.groupby("response_key", sort=False).head(1)
    keeper = first.set_index("response_key")[["source_file", "source_row"]]
    repeats = order.drop(index=first.index)
    out = pd.DataFrame(
        {
            "kept_file": repeats["response_key"].map(keeper["source_file"]),
            "kept_row": repeats["response_key"].map(keeper["source_row"]),
        },
        index=repeats.index,
    )
    return out.sort_index()


def find_superseded(form: Form, wide: pd.DataFrame) -> pd.DataFrame:
    """Among `wide` (duplicates already removed), earlier submissions of the same identity:
    index, by_file, by_row, by_time."""
    cols = list(form.supersede_on)
    if not cols or wide.empty:
        return pd.DataFrame(columns=["by_file", "by_row", "by_time"])
    keyed = wide.dropna(subset=[cols[0]])
    if keyed.empty:
        return pd.DataFrame(columns=["by_file", "by_row", "by_time"])
    keyed = keyed.assign(_key=joined_text(keyed, cols, "\x1f").astype("str"))
    # personal data scrubbed out of an identity leaves the marker, the same for everyone:
    # such responses cannot be told to be the same respondent's
    keyed = keyed[~keyed["_key"].str.contains(MARKER, regex=False)]
    keyed = keyed.sort_values(
        ["_key", "submitted_at", "source_file", "source_row"], kind="stable", na_position="first"
    )
    latest = keyed.groupby("_key", sort=False).tail(1).set_index("_key")
    earlier = keyed.drop(index=keyed.groupby("_key", sort=False).tail(1).index)
    return pd.DataFrame(
        {
            "by_file": earlier["_key"].map(latest["source_file"]),
            "by_row": earlier["_key"].map(latest["source_row"]),
            "by_time": earlier["_key"].map(latest["submitted_at"]),
        },
        index=earlier.index,
    ).sort_index()
