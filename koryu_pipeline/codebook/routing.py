"""Routing and "answered", as the codebook defines them: which respondents a question was
shown to, and whether a wide-frame cell holds an answer. Validation (not_routed) and the
exposures (the marts' bases) both ask these questions, so they are answered once, here."""

from __future__ import annotations

import pandas as pd

from koryu_pipeline.codebook.model import Entry, Form, normalise_text


def _routed(entry: Entry, wide: pd.DataFrame) -> pd.Series:
    """Whether each respondent was shown `entry` (all asked_if conditions hold)."""
    mask = pd.Series(True, index=wide.index)
    for dep, values in entry.asked_if:
        keys = frozenset(normalise_text(v) for v in values)
        mask &= wide[dep].map(lambda v, k=keys: _chose_any(v, k)).astype(bool)
    return mask


def _chose_any(value: object, keys: frozenset[str]) -> bool:
    """A single answer among `keys`, or (routing on a checkbox question) any of its
    chosen labels among them."""
    if isinstance(value, str):
        return value in keys
    if isinstance(value, tuple):
        return not keys.isdisjoint(value)
    return False


def routed_mask(form: Form, entry: Entry, wide: pd.DataFrame) -> pd.Series:
    """Routing is transitive: a follow-up of an unshown question is not shown either."""
    mask = _routed(entry, wide)
    for dep, _ in entry.asked_if:
        parent = form.entry_by_id[dep]
        if parent.asked_if:
            mask &= routed_mask(form, parent, wide)
    return mask


def answered(value: object) -> bool:
    """A wide-frame cell holds an answer: a non-empty label or a non-empty choice tuple."""
    if isinstance(value, tuple):
        return len(value) > 0
    return isinstance(value, str) and value != ""


def routing_conditions(form: Form, entry: Entry) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Every asked_if condition that decides whether `entry` is shown, its parents' first
    (routing is transitive); empty when every respondent is asked."""
    out: list[tuple[str, tuple[str, ...]]] = []
    for dep, values in entry.asked_if:
        for cond in routing_conditions(form, form.entry_by_id[dep]):
            if cond not in out:
                out.append(cond)
        out.append((dep, tuple(values)))
    return tuple(out)


def routing_text(form: Form, entry: Entry) -> str | None:
    """Who is asked `entry`, in words: "s_dispatch = はい", "q07 = A | B"; None for all."""
    conds = routing_conditions(form, entry)
    return "; ".join(f"{dep} = {' | '.join(values)}" for dep, values in conds) or None
