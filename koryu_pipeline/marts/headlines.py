"""`marts/headlines`: each slide's finding worded as the results summary words it.

The rules live in codebook/headlines.yaml (which figures, which labels, which sentence
pattern); this module only applies them to the marts. Every number-bearing word (９割超,
約３割, ２割に満たない, 最多, ...) and every label named is derived from the figures, so when
the data change, the headlines change with them.

A clause that interprets rather than reports (a gap, a contrast, 「次いで」, an order, 最多)
carries the condition under which it is true (`when`, or a clause's `when`), evaluated here
on the same figures; when it fails the sentence is reworded (`otherwise`) or dropped, never
asserted. Options the codebook marks `substantive: false` (その他, 分からない等, 特になし, ...)
are never named, and no slide names the same unit twice. Each row stores what it rests on:
the units named with their figures, the band behind each 約N割 (`figures`), and every
condition with its figures and result (`conditions`), as JSON text.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import pandas as pd

from koryu_pipeline.codebook import Codebook
from koryu_pipeline.codebook.model import load_yaml
from koryu_pipeline.marts.intervals import newcombe
from koryu_pipeline.warehouse.frames import conform
from koryu_pipeline.warehouse.tables import (
    COMPARISONS_PREFIX,
    HEADLINE_RULES,
    HEADLINES_SCHEMA,
    HEADLINES_SORT,
)

RULES_PATH = HEADLINE_RULES

_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


class HeadlineRuleError(ValueError):
    """headlines.yaml asks for something the marts or the band rules do not have."""


@cache
def load_rules(path: Path = RULES_PATH) -> dict[str, Any]:
    rules = load_yaml(path)
    if not isinstance(rules, dict) or "slides" not in rules or "bands" not in rules:
        raise HeadlineRuleError(f"{path}: needs `bands` and `slides`")
    return rules


def fullwidth(text: str) -> str:
    return text.translate(_FULLWIDTH)


# --------------------------------------------------------------------------- bands


def _clean(x: float) -> float:
    # 100*17/34 must be exactly 50: strip float noise before comparing with band edges.
    return round(float(x), 9)


def _decile(rule: str, x: float) -> int:
    x = _clean(x)
    if rule == "above":  # largest N with x > 10N
        return max(math.ceil(x / 10) - 1, 0)
    if rule == "at_least":  # largest N with x >= 10N
        return math.floor(x / 10)
    if rule == "nearest":  # half up, not banker's rounding: 45% is 約５割
        return math.floor(x / 10 + 0.5)
    if rule == "below":  # smallest N with x < 10N
        return math.floor(x / 10) + 1
    raise HeadlineRuleError(f"unknown band rule {rule!r}")


def _deciles(values: Sequence[float], rule: str) -> tuple[int, int]:
    """The deciles the wording rests on: the lowest value decides for over/at-least, the
    highest for under; `nearest` spans the values."""
    if not values:
        raise HeadlineRuleError("no figure to band")
    if rule in ("above", "at_least"):
        d = _decile(rule, min(values))
        return d, d
    if rule == "below":
        d = _decile(rule, max(values))
        return d, d
    ds = [_decile(rule, v) for v in values]
    return min(ds), max(ds)


def band_text(values: Sequence[float], family: dict[str, str]) -> str:
    """The band true of every value: the lowest decides for over/at-least, the highest for
    under; `nearest` gives a range when the values round differently."""
    lo, hi = _deciles(values, family["rule"])
    if lo == hi:
        # 約１０割 / １０割以上 is not how anyone writes "(nearly) all"
        special = (family.get("special") or {}).get(lo)
        return special if special is not None else family["text"].format(d=lo)
    return family.get("range_text", family["text"]).format(lo=lo, hi=hi, d=lo)


def band_range(values: Sequence[float], family: dict[str, str]) -> str:
    """The percentages the band's wording stands for, e.g. 約６割 -> "[55, 65)", ９割超 ->
    "(90, 100]": a reader can check the figure against it."""
    rule = family["rule"]
    lo, hi = _deciles(values, rule)
    low, high, left, right = {
        "above": (10 * lo, 10 * lo + 10, "(", "]"),
        "at_least": (10 * lo, 10 * lo + 10, "[", ")"),
        "below": (10 * lo - 10, 10 * lo, "[", ")"),
        "nearest": (10 * lo - 5, 10 * hi + 5, "[", ")"),
    }[rule]
    if high >= 100:
        high, right = 100, "]"
    return f"{left}{max(low, 0)}, {high}{right}"


# --------------------------------------------------------------------------- units

Unit = dict[str, Any]  # one item / option / comparison row: code, label and its figures
Index = dict[tuple[str, int, str], list[Unit]]


def _is_null(v: object) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def _num(v: object) -> float | int | None:
    """A figure as JSON can hold it (4 decimals: traceable, not noisy)."""
    if _is_null(v):
        return None
    if isinstance(v, bool):
        return int(v)
    f = float(v)  # type: ignore[arg-type]
    return int(f) if f.is_integer() and not isinstance(v, float) else round(f, 4)


def index_results(results: pd.DataFrame) -> Index:
    """(instrument, wave, question_id) -> units: one per likert item (its first row carries
    the item's summaries), else one per option. Built once; sentences only look up."""
    out: Index = {}
    seen: set[tuple[str, int, str, str]] = set()
    for row in results.to_dict("records"):
        key = (row["instrument"], int(row["wave"]), row["question_id"])
        units = out.setdefault(key, [])
        if isinstance(row["item_id"], str):
            if (*key, row["item_id"]) in seen:
                continue
            seen.add((*key, row["item_id"]))
            units.append({**row, "code": row["item_sort"], "label": row["item_label"]})
        else:
            units.append({**row, "code": row["option_code"], "label": row["option_label"]})
    return out


def _substantive(codebook: Codebook, instrument: str, wave: str, question: str, code: Any) -> bool:
    """False for an option the codebook marks non-substantive; likert items are subjects."""
    if not codebook.has_form(instrument, wave):
        return True
    entry = codebook.form(instrument, wave).entry_by_id.get(question)
    if entry is None or entry.type == "likert" or _is_null(code):
        return True
    return int(code) not in entry.non_substantive_codes


def _units(
    codebook: Codebook,
    source: dict[str, Any],
    wave: str,
    index: Index,
    comparisons: dict[str, pd.DataFrame],
) -> tuple[list[Unit], str]:
    """The units a sentence chooses from (each with `code`, `label`, `substantive`) and
    where they came from; no units when the wave has no such data."""
    if "comparison" in source:
        name = source["comparison"]
        frame = comparisons.get(f"{COMPARISONS_PREFIX}/{name}")
        if frame is None:
            raise HeadlineRuleError(f"no comparison {name!r}")
        # `question`: the columns saying which question a row's `code` is an option of
        where = source.get("question")
        units = [
            {
                **r,
                "code": r[source["code"]],
                "label": r[source["label"]],
                "substantive": where is None
                or _substantive(codebook, r[where[0]], wave, r[where[1]], r[source["code"]]),
            }
            for r in frame.loc[frame["wave"] == wave].to_dict("records")
        ]
        return units, f"comparisons/{name}"
    instrument, question = source["instrument"], source["question"]
    units = [
        {**u, "substantive": _substantive(codebook, instrument, wave, question, u["option_code"])}
        for u in index.get((instrument, wave, question), [])
    ]
    return units, f"{instrument}/{question}"


def _candidates(units: list[Unit], measure: str) -> list[Unit]:
    """What a sentence may name: substantive units with a figure that somebody chose (a 0%
    unit is not a finding, and その他 / 分からない等 / 特になし never are)."""
    return [
        u for u in units if u["substantive"] and not _is_null(u[measure]) and _clean(u[measure]) > 0
    ]


def _operand(unit: Unit, value: Any) -> Any:
    """A comparison's right-hand side: a number, or (a string) another column of the unit."""
    return _clean(unit[value]) if isinstance(value, str) else value


def _holds(unit: Unit, column: str, op: str, value: Any) -> bool:
    if _is_null(unit[column]) or (isinstance(value, str) and _is_null(unit[value])):
        return False
    return _OPS[op](_clean(unit[column]), _operand(unit, value))


def _select(
    candidates: list[Unit], sentence: dict[str, Any], families: dict[str, Any]
) -> list[Unit]:
    measure = sentence["measure"]
    spec = sentence.get("select") or {}
    out = candidates
    if "codes" in spec:
        out = [u for u in out if u["code"] in spec["codes"]]
    pool = out
    for column, op, value in spec.get("where", []):
        out = [u for u in out if _holds(u, column, op, value)]
    if not out and spec.get("fallback") == "top_band" and pool:
        # "top" is judged by the band the sentence will state: its first band placeholder
        band = next(iter((sentence.get("bands") or {"_": {"family": "about"}}).values()))
        fam = families[band["family"]]
        col = band.get("measure", measure)
        best = band_text([max(float(u[col]) for u in pool)], fam)
        out = [u for u in pool if band_text([float(u[col])], fam) == best]
    if "rank" in spec:
        # rank 1 = highest; ties share the better rank (pandas' method="min")
        values = [float(u[measure]) for u in out]
        out = [
            u
            for u, v in zip(out, values, strict=True)
            if 1 + sum(w > v for w in values) in spec["rank"]
        ]
    if sentence.get("order", "form") == "desc":
        return sorted(out, key=lambda u: (-float(u[measure]), u["code"]))
    return sorted(out, key=lambda u: u["code"])


def _label(text: str, style: dict[str, Any]) -> str:
    if style.get("strip_trailing_parenthetical"):
        text = re.sub(r"[（(][^（）()]*[）)]$", "", text)
    return style.get("quote", "「{label}」").format(label=text)


# --------------------------------------------------------------------------- conditions


@dataclass(frozen=True)
class Scope:
    """What a condition looks at: the units named, those the sentence could have named
    (substantive, chosen by somebody) and every unit of the source."""

    measure: str
    chosen: list[Unit]
    candidates: list[Unit]
    units: list[Unit]


def _ref(u: Unit, measure: str) -> dict[str, Any]:
    return {"code": _num(u["code"]), "label": u["label"], "value": _num(u[measure])}


def _values(scope: Scope, units: list[Unit]) -> list[float]:
    return [_clean(u[scope.measure]) for u in units]


def _each(cond: dict[str, Any], scope: Scope) -> tuple[bool, dict[str, Any]]:
    where = cond["where"]
    cols = sorted({c for c, _, _ in where} | {v for _, _, v in where if isinstance(v, str)})
    per_unit = []
    for u in scope.chosen:
        per_unit.append(
            {
                "code": _num(u["code"]),
                "label": u["label"],
                **{c: _num(u[c]) for c in cols},
                "held": all(_holds(u, c, op, v) for c, op, v in where),
            }
        )
    test = " and ".join(f"{c} {op} {v}" for c, op, v in where)
    return all(p["held"] for p in per_unit), {"test": test, "units": per_unit}


def _descending(cond: dict[str, Any], scope: Scope) -> tuple[bool, dict[str, Any]]:
    values = _values(scope, scope.chosen)
    held = len(values) > 1 and all(a > b for a, b in pairwise(values))
    return held, {"named": [_ref(u, scope.measure) for u in scope.chosen]}


def _below_top(cond: dict[str, Any], scope: Scope) -> tuple[bool, dict[str, Any]]:
    top = max(scope.candidates, key=lambda u: _clean(u[scope.measure]))
    held = max(_values(scope, scope.chosen)) < _clean(top[scope.measure])
    return held, {
        "top": _ref(top, scope.measure),
        "highest_named": _num(max(_values(scope, scope.chosen))),
    }


def _above_rest(cond: dict[str, Any], scope: Scope) -> tuple[bool, dict[str, Any]]:
    codes = {u["code"] for u in scope.chosen}
    ceiling = max(_values(scope, scope.chosen))
    rest = [
        u
        for u in scope.candidates
        if u["code"] not in codes and _clean(u[scope.measure]) <= ceiling
    ]
    lowest = min(_values(scope, scope.chosen))
    best_rest = max(rest, key=lambda u: _clean(u[scope.measure])) if rest else None
    held = best_rest is not None and lowest > _clean(best_rest[scope.measure])
    return held, {
        "lowest_named": _num(lowest),
        "highest_rest": _ref(best_rest, scope.measure) if best_rest else None,
    }


def _top_of_all(cond: dict[str, Any], scope: Scope) -> tuple[bool, dict[str, Any]]:
    codes = {u["code"] for u in scope.chosen}
    others = [u for u in scope.units if u["code"] not in codes and not _is_null(u[scope.measure])]
    best = max(others, key=lambda u: _clean(u[scope.measure])) if others else None
    lowest = min(_values(scope, scope.chosen))
    held = best is None or lowest >= _clean(best[scope.measure])
    other = {**_ref(best, scope.measure), "substantive": best["substantive"]} if best else None
    return held, {"lowest_named": _num(lowest), "highest_other": other}


def _interval_above(cond: dict[str, Any], scope: Scope) -> tuple[bool, dict[str, Any]]:
    """Per unit: share a minus share b (b optionally its complement, base - n) in points,
    with Newcombe's 95% interval; holds when the interval's lower bound is above `above`."""
    a, b, above = cond["a"], cond["b"], float(cond.get("above", 0))
    per_unit = []
    for u in scope.chosen:
        a_n, a_base, b_base = (float(u[a["n"]]), float(u[a["base"]]), float(u[b["base"]]))
        b_n = b_base - float(u[b["n"]]) if b.get("complement") else float(u[b["n"]])
        # a zero base gives NaN throughout (newcombe): the condition then fails
        d, low, high = (100 * float(x[0]) for x in newcombe([a_n], [a_base], [b_n], [b_base]))
        per_unit.append(
            {
                "code": _num(u["code"]),
                "label": u["label"],
                "a_pct": _num(100 * a_n / a_base if a_base else math.nan),
                "b_pct": _num(100 * b_n / b_base if b_base else math.nan),
                "diff_pct_points": _num(d),
                "ci_low": _num(low),
                "ci_high": _num(high),
                "held": not math.isnan(low) and low > above,
            }
        )
    side_b = (
        f"({b['base']} - {b['n']}) / {b['base']}"
        if b.get("complement")
        else f"{b['n']} / {b['base']}"
    )
    test = f"Newcombe 95% lower bound of {a['n']} / {a['base']} - {side_b} > {above:g} points"
    return all(p["held"] for p in per_unit), {"test": test, "units": per_unit}


_TESTS: dict[str, Callable[[dict[str, Any], Scope], tuple[bool, dict[str, Any]]]] = {
    "each": _each,  # every unit named satisfies `where` ([column, op, number | column])
    "descending": _descending,  # the units named are strictly ordered, highest first
    "below_top": _below_top,  # something the sentence could name ranks above them
    "above_rest": _above_rest,  # they rank strictly above something left unnamed
    "top_of_all": _top_of_all,  # nothing, non-substantive options included, ranks above
    "interval_above": _interval_above,  # a difference of shares clears its interval
}


def _check(cond: dict[str, Any], scope: Scope, sentence: int, clause: str | None) -> dict[str, Any]:
    test = cond.get("test")
    if test not in _TESTS:
        raise HeadlineRuleError(f"unknown condition test {test!r} (known: {sorted(_TESTS)})")
    held, figures = _TESTS[test](cond, scope)
    return {
        "sentence": sentence,
        "clause": clause,
        "test": test,
        "note": cond.get("note"),
        "held": held,
        "figures": figures,
    }


# --------------------------------------------------------------------------- sentences


@dataclass
class Rendered:
    text: str | None
    figures: dict[str, Any]
    conditions: list[dict[str, Any]] = field(default_factory=list)
    named: list[Unit] = field(default_factory=list)


def _unit_figures(u: Unit, measure: str) -> dict[str, Any]:
    """A named unit's figure and the counts behind it (a likert item's first-option n is not
    the item's: only its summaries are)."""
    counts = {
        k: _num(v)
        for k, v in u.items()
        if (k.endswith("_n") or (k == "n" and not isinstance(u.get("item_id"), str)))
        and not _is_null(v)
    }
    return {"code": _num(u["code"]), "label": u["label"], "value": _num(u[measure]), **counts}


def render_sentence(
    sentence: dict[str, Any],
    units: list[Unit],
    rules: dict[str, Any],
    number: int = 1,
    source: str = "",
    named: frozenset[Any] = frozenset(),
) -> Rendered:
    """One sentence from its rule and the units it chooses from (text None: left out).
    `named`: codes an earlier sentence of the slide named from the same source."""
    families = rules["bands"]
    measure = sentence["measure"]
    if units and measure not in units[0]:
        raise HeadlineRuleError(f"no measure {measure!r} in {sorted(units[0])}")
    candidates = _candidates(units, measure)
    chosen = _select(candidates, sentence, families)
    fresh = [u for u in chosen if u["code"] not in named]
    if len(fresh) < len(chosen) and "{labels}" not in sentence["template"]:
        fresh = []  # a sentence naming its units by paraphrase cannot name only some of them
    chosen = fresh

    def record(status: str) -> dict[str, Any]:
        return {
            "sentence": number,
            "status": status,
            "source": source,
            "measure": measure,
            "units": [_unit_figures(u, measure) for u in chosen],
        }

    if not chosen:
        return Rendered(None, record("nothing_selected"))
    scope = Scope(measure, chosen, candidates, units)
    conditions = [_check(c, scope, number, None) for c in sentence.get("when") or []]
    if not all(c["held"] for c in conditions):
        otherwise = sentence.get("otherwise", "drop")
        if otherwise == "drop":
            return Rendered(None, record("dropped"), conditions)
        reworded = {k: v for k, v in sentence.items() if k not in ("when", "otherwise")}
        out = render_sentence({**reworded, **otherwise}, units, rules, number, source, named)
        status = "reworded" if out.text else out.figures["status"]
        return replace(
            out, figures={**out.figures, "status": status}, conditions=conditions + out.conditions
        )
    style = rules.get("labels") or {}
    joiner = sentence.get("joiner", style.get("joiner", ""))
    values: dict[str, str] = {"labels": joiner.join(_label(str(u["label"]), style) for u in chosen)}
    # words that only fit a list (いずれも): empty when one unit is named
    for name, text in (sentence.get("several") or {}).items():
        values[name] = text if len(chosen) > 1 else ""
    reworded_clause = False
    for name, clause in (sentence.get("clauses") or {}).items():
        results = [_check(c, scope, number, name) for c in clause["when"]]
        conditions += results
        held = all(r["held"] for r in results)
        reworded_clause |= not held
        values[name] = clause["then"] if held else clause.get("else", "")
    bands: dict[str, Any] = {}
    for name, band in (sentence.get("bands") or {}).items():
        fam = families.get(band["family"])
        if fam is None:
            raise HeadlineRuleError(f"unknown band family {band['family']!r}")
        col = band.get("measure", measure)
        banded = [float(u[col]) for u in chosen if not _is_null(u[col])]
        values[name] = fullwidth(band_text(banded, fam))
        bands[name] = {
            "text": values[name],
            "family": band["family"],
            "measure": col,
            "values": [_num(v) for v in banded],
            "range": band_range(banded, fam),
        }
    template = "".join(line.strip() for line in str(sentence["template"]).splitlines())
    text = fullwidth(template.format_map(values))
    figures = {**record("reworded" if reworded_clause else "asserted"), "text": text}
    return Rendered(text, {**figures, "bands": bands}, conditions, chosen)


# --------------------------------------------------------------------------- table


def _titles(codebook: Codebook) -> dict[int, str]:
    titles: dict[int, str] = {}
    for form in sorted(codebook.forms, key=lambda f: (f.instrument, f.wave)):
        for e in form.questions:
            if e.slide is not None and e.title:
                titles.setdefault(e.slide, e.title)
    return titles


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def headlines(
    codebook: Codebook,
    results: pd.DataFrame,
    comparisons: dict[str, pd.DataFrame],
    rules: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """One row per slide and wave present in `results` (marts/question_results)."""
    rules = rules or load_rules()
    titles = _titles(codebook)
    index = index_results(results)
    rows: list[dict[str, object]] = []
    for wave in sorted({int(w) for w in results["wave"].dropna()}):
        for slide in rules["slides"]:
            sentences: list[str] = []
            sources: list[str] = []
            figures: list[dict[str, Any]] = []
            conditions: list[dict[str, Any]] = []
            named: dict[str, set[Any]] = {}  # source -> codes named so far on this slide
            for number, sentence in enumerate(slide["sentences"], start=1):
                units, source = _units(codebook, sentence["source"], wave, index, comparisons)
                if not units:
                    figures.append({"sentence": number, "source": source, "status": "no_data"})
                    continue
                done = frozenset(named.get(source, ()))
                out = render_sentence(sentence, units, rules, number, source, done)
                figures.append(out.figures)
                conditions += out.conditions
                if out.text is None:
                    continue
                named.setdefault(source, set()).update(u["code"] for u in out.named)
                sentences.append(out.text if out.text.endswith("。") else out.text + "。")
                if source not in sources:
                    sources.append(source)
            rows.append(
                {
                    "wave": wave,
                    "slide": slide["slide"],
                    "title": slide.get("title") or titles.get(slide["slide"]),
                    "headline": "".join(sentences) or None,
                    "sources": ",".join(sources) or None,
                    "figures": _json(figures),
                    "conditions": _json(conditions),
                    "conditions_checked": len(conditions),
                    "conditions_failed": sum(not c["held"] for c in conditions),
                }
            )
    return conform(
        pd.DataFrame(rows, columns=HEADLINES_SCHEMA.names), HEADLINES_SCHEMA, HEADLINES_SORT
    )
