"""`marts/headlines`: each slide's finding worded as the results summary words it.

The rules live in codebook/headlines.yaml (which figures, which labels, which sentence
pattern); this module only applies them to the marts. Every number-bearing word (９割超,
約３割, ２割に満たない, 最多, ...) and every label named is derived from the figures, so when
the data change, the headlines change with them.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from koryu_pipeline.codebook import Codebook
from koryu_pipeline.codebook.model import CODEBOOK_DIR, load_yaml
from koryu_pipeline.warehouse.frames import conform
from koryu_pipeline.warehouse.tables import COMPARISONS_PREFIX, HEADLINES_SCHEMA, HEADLINES_SORT

RULES_PATH = CODEBOOK_DIR / "headlines.yaml"

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


def band_text(values: Sequence[float], family: dict[str, str]) -> str:
    """The band true of every value: the lowest decides for over/at-least, the highest for
    under; `nearest` gives a range when the values round differently."""
    rule = family["rule"]
    if not values:
        raise HeadlineRuleError("no figure to band")
    if rule in ("above", "at_least"):
        return family["text"].format(d=_decile(rule, min(values)))
    if rule == "below":
        return family["text"].format(d=_decile(rule, max(values)))
    deciles = sorted({_decile(rule, v) for v in values})
    if len(deciles) == 1:
        return family["text"].format(d=deciles[0])
    return family.get("range_text", family["text"]).format(
        lo=deciles[0], hi=deciles[-1], d=deciles[0]
    )


# --------------------------------------------------------------------------- units

Unit = dict[str, Any]  # one item / option / comparison row: code, label and its figures
Index = dict[tuple[str, int, str], list[Unit]]


def _is_null(v: object) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


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


def _units(
    source: dict[str, str], wave: int, index: Index, comparisons: dict[str, pd.DataFrame]
) -> tuple[list[Unit], str] | None:
    """The units a sentence chooses from and where they came from; None when the wave has
    no such data."""
    if "comparison" in source:
        name = source["comparison"]
        frame = comparisons.get(f"{COMPARISONS_PREFIX}/{name}")
        if frame is None:
            raise HeadlineRuleError(f"no comparison {name!r}")
        rows = frame.loc[frame["wave"] == wave].to_dict("records")
        units = [{**r, "code": r[source["code"]], "label": r[source["label"]]} for r in rows]
        return (units, f"comparisons/{name}") if units else None
    instrument, question = source["instrument"], source["question"]
    units = index.get((instrument, wave, question))
    return (units, f"{instrument}/{question}") if units else None


def _select(units: list[Unit], sentence: dict[str, Any], families: dict[str, Any]) -> list[Unit]:
    measure = sentence["measure"]
    if units and measure not in units[0]:
        raise HeadlineRuleError(f"no measure {measure!r} in {sorted(units[0])}")
    spec = sentence.get("select") or {}
    out = [u for u in units if not _is_null(u[measure])]
    if "codes" in spec:
        out = [u for u in out if u["code"] in spec["codes"]]
    candidates = out
    for column, op, value in spec.get("where", []):
        out = [u for u in out if not _is_null(u[column]) and _OPS[op](_clean(u[column]), value)]
    if not out and spec.get("fallback") == "top_band" and candidates:
        # "top" is judged by the band the sentence will state: its first band placeholder
        band = next(iter((sentence.get("bands") or {"_": {"family": "about"}}).values()))
        fam = families[band["family"]]
        col = band.get("measure", measure)
        best = band_text([max(float(u[col]) for u in candidates)], fam)
        out = [u for u in candidates if band_text([float(u[col])], fam) == best]
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


def render_sentence(
    sentence: dict[str, Any], units: list[Unit], rules: dict[str, Any]
) -> str | None:
    """One sentence from its rule and the units it chooses from; None if nothing selected."""
    families = rules["bands"]
    chosen = _select(units, sentence, families)
    if not chosen:
        return None
    style = rules.get("labels") or {}
    joiner = sentence.get("joiner", "")
    values: dict[str, str] = {"labels": joiner.join(_label(str(u["label"]), style) for u in chosen)}
    for name, band in (sentence.get("bands") or {}).items():
        fam = families.get(band["family"])
        if fam is None:
            raise HeadlineRuleError(f"unknown band family {band['family']!r}")
        col = band.get("measure", sentence["measure"])
        values[name] = band_text([float(u[col]) for u in chosen if not _is_null(u[col])], fam)
    template = "".join(line.strip() for line in str(sentence["template"]).splitlines())
    return fullwidth(template.format_map(values))


# --------------------------------------------------------------------------- table


def _titles(codebook: Codebook) -> dict[int, str]:
    titles: dict[int, str] = {}
    for form in sorted(codebook.forms, key=lambda f: (f.instrument, f.wave)):
        for e in form.questions:
            if e.slide is not None and e.title:
                titles.setdefault(e.slide, e.title)
    return titles


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
            for sentence in slide["sentences"]:
                found = _units(sentence["source"], wave, index, comparisons)
                if found is None:
                    continue
                text = render_sentence(sentence, found[0], rules)
                if text is None:
                    continue
                sentences.append(text if text.endswith("。") else text + "。")
                if found[1] not in sources:
                    sources.append(found[1])
            rows.append(
                {
                    "wave": wave,
                    "slide": slide["slide"],
                    "title": slide.get("title") or titles.get(slide["slide"]),
                    "headline": "".join(sentences) or None,
                    "sources": ",".join(sources) or None,
                }
            )
    return conform(
        pd.DataFrame(rows, columns=HEADLINES_SCHEMA.names), HEADLINES_SCHEMA, HEADLINES_SORT
    )
