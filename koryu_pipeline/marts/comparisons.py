"""Cross-survey and cross-wave comparisons (`marts/comparisons/...`), built from the
per-question marts so their figures are exactly the published ones.

- `support_gap`: each wish of a crosswalk's source question beside the answer of the target
  question it pairs with (the crosswalk in the hires form: support_wishes -> ministry q13).
  Columns keep the contract's names: `hires_*` is the side holding the crosswalk,
  `ministry_*` its target.
- `dispatch_vs_hiring`: the form's mirrors (q01<->q09, ...), one row per item or option pair
  the codebook lists (pairs by meaning: 「更なる交流派遣に積極的である」 with
  「更なる交流採用に積極的である」). Likert items are compared on positive_pct, options on
  pct; a row says who each side was asked (routing) and whether that differs.
- `waves`: every cell beside the same instrument/question/item/option label in the previous
  wave present in the data. Empty (with its schema) while only one wave exists.

All differences are in percentage points with Newcombe's hybrid score 95% interval.
"""

from __future__ import annotations

from itertools import pairwise

import pandas as pd

from koryu_pipeline.codebook import Codebook, CodebookError, Entry, normalise_text, wave_number
from koryu_pipeline.codebook.routing import routing_text
from koryu_pipeline.marts.intervals import newcombe
from koryu_pipeline.warehouse.frames import conform
from koryu_pipeline.warehouse.tables import (
    DISPATCH_VS_HIRING,
    DISPATCH_VS_HIRING_SCHEMA,
    DISPATCH_VS_HIRING_SORT,
    SUPPORT_GAP,
    SUPPORT_GAP_SCHEMA,
    SUPPORT_GAP_SORT,
    WAVES,
    WAVES_SCHEMA,
    WAVES_SORT,
)


def _with_diff(frame: pd.DataFrame, a: str, b: str, out: str) -> pd.DataFrame:
    """Add `<out>_pct_points` = pct of side a - pct of side b (columns `<a>n`, `<a>base_n`,
    ...) and its Newcombe interval `<out>_ci_low/high`, all in percentage points."""
    d, low, high = newcombe(
        frame[f"{a}n"].to_numpy(dtype=float),
        frame[f"{a}base_n"].to_numpy(dtype=float),
        frame[f"{b}n"].to_numpy(dtype=float),
        frame[f"{b}base_n"].to_numpy(dtype=float),
    )
    return frame.assign(
        **{f"{out}_pct_points": 100 * d, f"{out}_ci_low": 100 * low, f"{out}_ci_high": 100 * high}
    )


Cells = dict[tuple[str, str, str], pd.DataFrame]


def _by_question(results: pd.DataFrame) -> Cells:
    """(instrument, wave, question_id) -> its rows, split once."""
    keys = ["instrument", "wave", "question_id"]
    return {(str(i), str(w), str(q)): f for (i, w, q), f in results.groupby(keys, sort=False)}


def _cells(cells: Cells, instrument: str, wave: str, question_id: str) -> pd.DataFrame:
    return cells.get((instrument, wave, question_id), _EMPTY)


_EMPTY = pd.DataFrame()


# --------------------------------------------------------------------------- support gap


def support_gap(codebook: Codebook, results: pd.DataFrame) -> pd.DataFrame:
    """Every crosswalk of every form, per wave present on both sides."""
    rows: list[dict[str, object]] = []
    cells = _by_question(results)
    for form in codebook.forms:
        for cw in form.crosswalks:
            src = _cells(cells, form.instrument, form.wave, cw.question)
            dst = _cells(cells, cw.to_instrument, form.wave, cw.to_question)
            if src.empty or dst.empty:
                continue
            by_src = {normalise_text(str(r.option_label)): r for r in src.itertuples()}
            by_dst = {normalise_text(str(r.option_label)): r for r in dst.itertuples()}
            for a, b in cw.pairs:
                s, t = by_src[normalise_text(a)], by_dst[normalise_text(b)]
                rows.append(
                    {
                        "wave": wave_number(form.wave),
                        "hires_option_label": s.option_label,
                        "ministry_option_label": t.option_label,
                        "hires_n": s.n,
                        "hires_base_n": s.base_n,
                        "hires_pct": s.pct,
                        "ministry_n": t.n,
                        "ministry_base_n": t.base_n,
                        "ministry_pct": t.pct,
                        "hires_option_code": s.option_code,
                        "ministry_option_code": t.option_code,
                        "crosswalk_id": cw.id,
                        "slide": cw.slide,
                        "hires_instrument": form.instrument,
                        "hires_question_id": cw.question,
                        "ministry_instrument": cw.to_instrument,
                        "ministry_question_id": cw.to_question,
                    }
                )
    if not rows:
        return conform(pd.DataFrame(columns=SUPPORT_GAP_SCHEMA.names), SUPPORT_GAP_SCHEMA)
    frame = pd.DataFrame(rows)
    frame = _with_diff(frame, "hires_", "ministry_", "gap")
    # 1 = the wish most hires chose; ties share the better rank.
    frame["hires_rank"] = (
        frame.groupby(["crosswalk_id", "wave"])["hires_n"]
        .rank(method="min", ascending=False)
        .astype("int64")
    )
    return conform(frame, SUPPORT_GAP_SCHEMA, SUPPORT_GAP_SORT)


# --------------------------------------------------------------------------- mirrors


def _unit_figures(cells: pd.DataFrame, likert: bool) -> dict[int, dict[str, object]]:
    """unit code -> the figures compared: per likert item (item_sort; positive answers) or
    per option (option_code; chosen)."""
    out: dict[int, dict[str, object]] = {}
    if likert:
        for r in cells.drop_duplicates("item_id").itertuples():
            out[int(r.item_sort)] = {
                "label": r.item_label,
                "item_id": r.item_id,
                "option_code": None,
                "n": r.positive_n,
                "base_n": r.base_n,
                "shown_n": r.shown_n,
                "pct": r.positive_pct,
            }
    else:
        for r in cells.itertuples():
            out[int(r.option_code)] = {
                "label": r.option_label,
                "item_id": None,
                "option_code": r.option_code,
                "n": r.n,
                "base_n": r.base_n,
                "shown_n": r.shown_n,
                "pct": r.pct,
            }
    return out


def _code(entry: Entry, ref: str | int) -> int:
    code = entry.unit_code(ref)
    if code is None:  # validate_codebook rejects such a mirror on load
        raise CodebookError(f"mirror names no {ref!r} in {entry.id}")
    return code


def dispatch_vs_hiring(codebook: Codebook, results: pd.DataFrame) -> pd.DataFrame:
    """One row per pair the codebook's mirrors list (by meaning), per wave with data on both
    sides: both shares and bases, the difference (dispatch - hiring) and its interval."""
    rows: list[dict[str, object]] = []
    cells = _by_question(results)
    for form in codebook.forms:
        for pair_sort, mirror in enumerate(form.mirrors, start=1):
            qa, qb = mirror.questions
            ea, eb = form.entry(qa), form.entry(qb)
            likert = ea.type == "likert"
            a_cells = _cells(cells, form.instrument, form.wave, qa)
            b_cells = _cells(cells, form.instrument, form.wave, qb)
            if a_cells.empty or b_cells.empty:
                continue
            ua, ub = _unit_figures(a_cells, likert), _unit_figures(b_cells, likert)
            # different asked_if: the two bases are different groups of organisations
            ra, rb = routing_text(form, ea), routing_text(form, eb)
            for row_sort, (ref_a, ref_b) in enumerate(mirror.pairs, start=1):
                a, b = ua[_code(ea, ref_a)], ub[_code(eb, ref_b)]
                rows.append(
                    {
                        "instrument": form.instrument,
                        "wave": wave_number(form.wave),
                        "dispatch_question_id": qa,
                        "hiring_question_id": qb,
                        "measure": "positive_pct" if likert else "pct",
                        "label": a["label"],
                        "dispatch_item_id": a["item_id"],
                        "hiring_item_id": b["item_id"],
                        "dispatch_option_code": a["option_code"],
                        "hiring_option_code": b["option_code"],
                        "dispatch_n": a["n"],
                        "dispatch_base_n": a["base_n"],
                        "dispatch_pct": a["pct"],
                        "hiring_n": b["n"],
                        "hiring_base_n": b["base_n"],
                        "hiring_pct": b["pct"],
                        "pair_sort": pair_sort,
                        "row_sort": row_sort,
                        "dispatch_label": a["label"],
                        "hiring_label": b["label"],
                        "dispatch_shown_n": a["shown_n"],
                        "hiring_shown_n": b["shown_n"],
                        "dispatch_routing": ra,
                        "hiring_routing": rb,
                        "bases_differ_by_routing": ra != rb,
                    }
                )
    if not rows:
        return conform(
            pd.DataFrame(columns=DISPATCH_VS_HIRING_SCHEMA.names), DISPATCH_VS_HIRING_SCHEMA
        )
    frame = _with_diff(pd.DataFrame(rows), "dispatch_", "hiring_", "diff")
    return conform(frame, DISPATCH_VS_HIRING_SCHEMA, DISPATCH_VS_HIRING_SORT)


# --------------------------------------------------------------------------- waves


def waves(results: pd.DataFrame) -> pd.DataFrame:
    """Each cell beside the previous wave's cell of the same instrument, question, item label
    and option label (labels NFKC-normalised, so a re-typed label still matches)."""
    if results.empty:
        return conform(pd.DataFrame(columns=WAVES_SCHEMA.names), WAVES_SCHEMA)
    cells = results.assign(
        _item=results["item_label"].map(lambda v: normalise_text(v) if isinstance(v, str) else ""),
        _option=results["option_label"].map(normalise_text),
    )
    keys = ["instrument", "question_id", "_item", "_option"]
    parts: list[pd.DataFrame] = []
    for _instrument, inst in cells.groupby("instrument", sort=True):
        for prev, cur in pairwise(sorted(inst["wave"].unique())):
            now = inst.loc[inst["wave"] == cur]
            before = inst.loc[inst["wave"] == prev, [*keys, "n", "base_n", "pct"]].rename(
                columns={"n": "previous_n", "base_n": "previous_base_n", "pct": "previous_pct"}
            )
            merged = now.merge(before, on=keys, how="inner").assign(previous_wave=prev)
            parts.append(merged)
    if not parts or all(p.empty for p in parts):
        return conform(pd.DataFrame(columns=WAVES_SCHEMA.names), WAVES_SCHEMA)
    frame = pd.concat([p for p in parts if not p.empty], ignore_index=True)
    frame = _with_diff(frame, "", "previous_", "diff")
    return conform(frame, WAVES_SCHEMA, WAVES_SORT)


def waves_note(results: pd.DataFrame, compared: pd.DataFrame) -> str:
    """What the `waves` table holds and why, in words (its materialisation's metadata): an
    empty table on one wave is by design, not a failure."""
    held = {
        str(i): sorted({int(w) for w in f["wave"].dropna()})
        for i, f in results.groupby("instrument", sort=True)
    }
    listing = "; ".join(f"{i} {', '.join(map(str, w))}" for i, w in held.items()) or "none"
    if compared.empty:
        return (
            "No rows, by design: this table sets every cell of a wave beside the same cell "
            "of the previous wave of the same instrument, and no instrument has two waves "
            f"in the warehouse yet (waves: {listing}). It fills when a second wave is "
            "ingested."
        )
    pairs = sorted(
        {
            (str(i), int(w), int(p))
            for i, w, p in compared[["instrument", "wave", "previous_wave"]].itertuples(index=False)
        }
    )
    done = "; ".join(f"{i} {w} with {p}" for i, w, p in pairs)
    return f"Compares {done} (waves: {listing})."


def comparison_tables(codebook: Codebook, results: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {
        SUPPORT_GAP: support_gap(codebook, results),
        DISPATCH_VS_HIRING: dispatch_vs_hiring(codebook, results),
        WAVES: waves(results),
    }
