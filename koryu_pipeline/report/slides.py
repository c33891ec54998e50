"""The slide model: what each page of the results summary shows.

Everything is derived: which slides exist and their order from headlines.yaml's `slides`; which
questions a slide shows from the codebook's `slide:` entries (or a crosswalk's `slide:` for a
comparison); titles and headline sentences from `marts/headlines`; every figure, base and the
number of valid responses from the marts; who was asked from the codebook's `asked_if`; the
fielding window and method from the form's metadata. The renderers (html, pptx, xlsx) only lay
this model out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

import pandas as pd

from koryu_pipeline.report.sources import (
    DONT_KNOW_LABELS,
    HEADLINES_KEY,
    QUESTION_RESULTS_KEY,
    SUPPORT_GAP_KEY,
    Codebook,
    Entry,
    Form,
    fullwidth,
    load_rules,
    normalise_text,
    question_key,
)

# What the codebook cannot say about a survey: who answered it and what one response is.
AUDIENCE: dict[str, tuple[str, str]] = {
    "ministry": ("各府省及び行政執行法人の人事担当部局", "組織"),
    "hires": ("府省等に在籍する交流採用者", "人"),
}
# How each export format was fielded (the form's `export:` names the tool).
METHOD: dict[str, str] = {
    "msforms_xlsx": "オンライン（Microsoft Forms）により回答",
    "googleforms_csv": "オンライン（Google フォーム）により回答",
}
N_NOTE = "※ 各問のグラフ中の「ｎ」は、それぞれの問に対する有効回答数"
# Screening questions are asked as "…ありますか。"; a はい is reported as "…あると回答した".
_YES = "はい"
_YES_ENDINGS = (("ありますか。", "ある"), ("いますか。", "いる"))

PanelKind = Literal["likert", "bars", "gap"]


def number(v: object) -> float | None:
    """A mart cell as a float, None for null (pandas NA, NaN, None)."""
    if v is None or v is pd.NA:
        return None
    f = float(v)  # type: ignore[arg-type]
    return None if math.isnan(f) else f


def flag(v: object) -> bool:
    """A boolean mart cell; null counts as False."""
    return False if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else bool(v)


def count(v: object) -> int | None:
    f = number(v)
    return None if f is None else round(f)


@dataclass(frozen=True)
class Bar:
    """One option of a choice question (or one side of a comparison)."""

    label: str
    code: int
    n: int | None
    base_n: int | None
    pct: float | None
    ci_low: float | None
    ci_high: float | None
    suppressed: bool


@dataclass(frozen=True)
class LikertRow:
    """One item of a likert grid: a percentage per scale point, in the panel's `points` order."""

    label: str
    base_n: int | None
    pcts: tuple[float | None, ...]
    positive_pct: float | None
    suppressed: bool


@dataclass(frozen=True)
class GapRow:
    """One crosswalked support: the wish (source side) beside the effort (target side)."""

    label: str
    target_label: str
    source: Bar
    target: Bar
    gap: float | None
    gap_low: float | None
    gap_high: float | None
    rank: int | None


@dataclass(frozen=True)
class Panel:
    """One chart: a question's mart, or a comparison."""

    kind: PanelKind
    key: str  # the mart it shows
    title: str
    question: str  # the question as the form asked it ("" when it is the title)
    base_text: str  # ｎ＝１６（組織）
    note: str  # who was asked
    shown_n: int | None = None  # respondents the routing showed it to
    points: tuple[str, ...] = ()  # likert: scale points, don't-know last
    dont_know: tuple[bool, ...] = ()
    bars: tuple[Bar, ...] = ()
    likert: tuple[LikertRow, ...] = ()
    gaps: tuple[GapRow, ...] = ()
    series: tuple[str, ...] = ()  # gap: the two sides' names
    gap_label: str = ""  # gap: what the difference is


@dataclass(frozen=True)
class Slide:
    number: int
    title: str
    headline: str | None
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Survey:
    instrument: str
    title: str
    audience: str
    unit: str
    responses: int | None
    opens: date
    closes: date
    method: str


@dataclass(frozen=True)
class TocGroup:
    name: str  # "" when the slides share no section
    slides: tuple[tuple[int, str], ...]  # (number, title without the section tag)


@dataclass(frozen=True)
class Report:
    wave: str
    title: str
    surveys: tuple[Survey, ...]  # the main survey first
    toc: tuple[TocGroup, ...]
    routing_note: str
    slides: tuple[Slide, ...]

    @property
    def main(self) -> Survey:
        return self.surveys[0]


# --------------------------------------------------------------------------- text helpers


def wareki(d: date) -> str:
    """A date as the summary writes it: 令和５年１１月８日."""
    if d >= date(2019, 5, 1):
        era, year = "令和", d.year - 2018
    elif d >= date(1989, 1, 8):
        era, year = "平成", d.year - 1988
    else:
        return fullwidth(f"{d.year}年{d.month}月{d.day}日")
    y = "元" if year == 1 else str(year)
    return fullwidth(f"{era}{y}年{d.month}月{d.day}日")


def window_text(s: Survey) -> str:
    return f"{wareki(s.opens)}～{wareki(s.closes)}"


def wave_label(wave: str) -> str:
    return fullwidth(f"{wave}年調査")


def sentences(text: str | None) -> list[str]:
    """The seed sets each sentence of a headline on its own line."""
    return [s for s in re.split(r"(?<=。)", text or "") if s]


def runs_text(numbers: Sequence[int]) -> str:
    """[1..6] -> １から６; [9, 10, 11, 12, 13, 15] -> ９から１３、１５."""
    parts: list[str] = []
    ns = sorted(numbers)
    i = 0
    while i < len(ns):
        j = i
        while j + 1 < len(ns) and ns[j + 1] == ns[j] + 1:
            j += 1
        parts.append(f"{ns[i]}から{ns[j]}" if j - i >= 2 else "、".join(map(str, ns[i : j + 1])))
        i = j + 1
    return fullwidth("、".join(parts))


def base_text(bases: Sequence[int | None], unit: str) -> str:
    values = sorted({b for b in bases if b is not None})
    if not values:
        return f"ｎ＝－（{unit}）"
    n = str(values[0]) if len(values) == 1 else f"{values[0]}～{values[-1]}"
    return fullwidth(f"ｎ＝{n}（{unit}）")


def _section(title: str) -> tuple[str, str]:
    m = re.search(r"（([^（）]+)）$", title)
    return (m.group(1), title[: m.start()]) if m else ("", title)


def toc_groups(slides: Sequence[tuple[int, str]]) -> tuple[TocGroup, ...]:
    """The contents grouped as the seed groups them: a trailing （交流派遣） shared by several
    titles is a section; a slide without one stays in the section before it."""
    tags = [_section(t)[0] for _, t in slides]
    shared = {t for t in tags if t and tags.count(t) > 1}
    groups: list[tuple[str, list[tuple[int, str]]]] = []
    for number_, title in slides:
        tag, short = _section(title)
        if tag not in shared:
            tag, short = "", title
        if not groups or (tag and tag != groups[-1][0]):
            groups.append((tag, []))
        groups[-1][1].append((number_, short))
    return tuple(TocGroup(name, tuple(items)) for name, items in groups)


# --------------------------------------------------------------------------- marts


def question_frame(
    marts: Mapping[str, pd.DataFrame], instrument: str, qid: str, wave: str
) -> pd.DataFrame:
    """One question's rows in one wave: its own mart, else its slice of question_results."""
    frame = marts.get(question_key(instrument, qid))
    if frame is None:
        results = marts.get(QUESTION_RESULTS_KEY)
        if results is None:
            return pd.DataFrame()
        frame = results[(results["instrument"] == instrument) & (results["question_id"] == qid)]
    return frame[frame["wave"].astype(str) == wave]


def _sorted(frame: pd.DataFrame, *cols: str) -> pd.DataFrame:
    keys = [c for c in cols if c in frame.columns]
    return frame.sort_values(keys, kind="stable") if keys else frame


def _bar(row: Mapping[str, object], label: str) -> Bar:
    suppressed = flag(row.get("suppressed"))
    hide = (lambda v: None) if suppressed else number  # suppressed: no figure at all
    return Bar(
        label=label,
        code=count(row["option_code"]) or 0,
        n=None if suppressed else count(row["n"]),
        base_n=count(row["base_n"]),
        pct=hide(row["pct"]),
        ci_low=hide(row["ci_low"]),
        ci_high=hide(row["ci_high"]),
        suppressed=suppressed,
    )


def _bars(frame: pd.DataFrame) -> tuple[Bar, ...]:
    rows = _sorted(frame, "option_sort", "option_code").to_dict("records")
    return tuple(_bar(r, str(r["option_label"])) for r in rows)


def _likert(frame: pd.DataFrame) -> tuple[tuple[str, ...], tuple[bool, ...], list[LikertRow]]:
    """Scale points in scale order with 分からない moved last; items in form order."""
    options = (
        frame[["option_code", "option_label", "option_sort"]]
        .drop_duplicates("option_code")
        .assign(dk=lambda f: f["option_label"].map(lambda x: normalise_text(x) in DONT_KNOW_LABELS))
        .sort_values(["dk", "option_sort"], kind="stable")
    )
    codes = list(options["option_code"])
    rows: list[LikertRow] = []
    for _, item in _sorted(frame, "item_sort", "item_id").groupby("item_id", sort=False):
        by_code = {count(r["option_code"]): r for r in item.to_dict("records")}
        first = next(iter(by_code.values()))
        suppressed = any(flag(v) for v in item["suppressed"])
        rows.append(
            LikertRow(
                label=str(first["item_label"]),
                base_n=count(first["base_n"]),
                pcts=tuple(
                    None if suppressed or c not in by_code else number(by_code[c]["pct"])
                    for c in codes
                ),
                positive_pct=None if suppressed else number(first.get("positive_pct")),
                suppressed=suppressed,
            )
        )
    return tuple(options["option_label"]), tuple(bool(x) for x in options["dk"]), rows


def _condition(form: Form, dep: str, values: Sequence[str]) -> str:
    entry = form.entry(dep)
    if entry.is_attribute and list(values) == [_YES]:
        for ending, plain in _YES_ENDINGS:
            if entry.header.endswith(ending):
                return entry.header[: -len(ending)] + plain + "と回答した"
    return "又は".join(f"「{v}」" for v in values) + "と回答した"


def routing_condition(form: Form, entry: Entry) -> str | None:
    """Who was shown `entry`, from its asked_if ("…と回答した"); None when asked of all."""
    if not entry.asked_if:
        return None
    return "、かつ".join(_condition(form, dep, values) for dep, values in entry.asked_if)


def _asked_note(form: Form, entry: Entry, shown: int | None, unit: str) -> str:
    n = "" if shown is None else str(shown)
    cond = routing_condition(form, entry)
    text = f"全{n}{unit}に質問" if cond is None else f"{cond}{n}{unit}に質問"
    return fullwidth(text)


def _unit(instrument: str) -> str:
    return AUDIENCE.get(instrument, ("", "件"))[1]


def _question_panel(
    form: Form, entry: Entry, marts: Mapping[str, pd.DataFrame], wave: str
) -> Panel | None:
    frame = question_frame(marts, form.instrument, entry.id, wave)
    if frame.empty:
        return None
    unit = _unit(form.instrument)
    shown = count(frame["shown_n"].max())
    common = {
        "key": question_key(form.instrument, entry.id),
        "title": entry.title or entry.header,
        "question": "" if entry.header == (entry.title or entry.header) else entry.header,
        "note": _asked_note(form, entry, shown, unit),
        "shown_n": shown,
    }
    if entry.type == "likert":
        points, dk, rows = _likert(frame)
        return Panel(
            kind="likert",
            base_text=base_text([r.base_n for r in rows], unit),
            points=points,
            dont_know=dk,
            likert=tuple(rows),
            **common,
        )
    bars = _bars(frame)
    return Panel(
        kind="bars", base_text=base_text([b.base_n for b in bars], unit), bars=bars, **common
    )


def _gap_panel(
    codebook: Codebook, form: Form, cw_id: str, marts: Mapping[str, pd.DataFrame], wave: str
) -> Panel | None:
    cw = next(c for c in form.crosswalks if c.id == cw_id)
    gap = marts.get(SUPPORT_GAP_KEY)
    if gap is None:
        return None
    gap = gap[(gap["wave"].astype(str) == wave) & (gap["crosswalk_id"] == cw_id)]
    if gap.empty:
        return None
    # Each side's own interval comes from its question's mart.
    src = question_frame(marts, form.instrument, cw.question, wave)
    dst = question_frame(marts, cw.to_instrument, cw.to_question, wave)
    src_rows = {count(r["option_code"]): r for r in src.to_dict("records")}
    dst_rows = {count(r["option_code"]): r for r in dst.to_dict("records")}
    rows: list[GapRow] = []
    for r in _sorted(gap, "hires_rank", "hires_option_code").to_dict("records"):
        s = src_rows.get(count(r["hires_option_code"]))
        t = dst_rows.get(count(r["ministry_option_code"]))
        if s is None or t is None:
            continue
        suppressed = flag(s.get("suppressed")) or flag(t.get("suppressed"))
        rows.append(
            GapRow(
                label=str(r["hires_option_label"]),
                target_label=str(r["ministry_option_label"]),
                source=_bar(s, str(r["hires_option_label"])),
                target=_bar(t, str(r["ministry_option_label"])),
                gap=None if suppressed else number(r["gap_pct_points"]),
                gap_low=None if suppressed else number(r["gap_ci_low"]),
                gap_high=None if suppressed else number(r["gap_ci_high"]),
                rank=count(r["hires_rank"]),
            )
        )
    target_form = codebook.form(cw.to_instrument, wave)
    entry = form.entry(cw.question)
    target = target_form.entry(cw.to_question)
    su, tu = _unit(form.instrument), _unit(cw.to_instrument)
    src_title = entry.title or entry.header
    tgt_title = target.title or target.header
    return Panel(
        kind="gap",
        key=SUPPORT_GAP_KEY,
        title=f"{src_title}と{tgt_title}",
        question=entry.header,
        base_text=(
            f"{_short(form)} {base_text([x.source.base_n for x in rows], su)}／"
            f"{_short(target_form)} {base_text([x.target.base_n for x in rows], tu)}"
        ),
        note=(
            f"{_short(form)}は{_asked_note(form, entry, count(src['shown_n'].max()), su)}、"
            f"{_short(target_form)}は"
            f"{_asked_note(target_form, target, count(dst['shown_n'].max()), tu)}"
        ),
        gaps=tuple(rows),
        series=(f"{_short(form)}（希望）", f"{_short(target_form)}（力を入れている）"),
        gap_label=(
            f"差（{_short(form).removesuffix('アンケート')}−"
            f"{_short(target_form).removesuffix('アンケート')}、ポイント）"
        ),
    )


def _short(form: Form) -> str:
    """交流採用者アンケート / 各府省等アンケート: the form's title without the survey topic."""
    title = re.sub(r"^官民人事交流に関する", "", form.title)
    m = re.fullmatch(r"アンケート（(.+)）", title)
    return f"{m.group(1)}アンケート" if m else title


# --------------------------------------------------------------------------- the report


def report_waves(marts: Mapping[str, pd.DataFrame]) -> list[str]:
    frame = marts.get(HEADLINES_KEY)
    if frame is None or frame.empty:
        return []
    return sorted(set(frame["wave"].astype(str)))


def default_wave(marts: Mapping[str, pd.DataFrame]) -> str:
    """The latest wave whose every slide has a headline (a wave where only one survey was
    fielded has gaps), else the latest wave with the most headlines."""
    frame = marts.get(HEADLINES_KEY)
    if frame is None or frame.empty:
        raise ValueError("marts/headlines is empty: nothing to report")
    filled = frame.assign(wave=frame["wave"].astype(str)).groupby("wave")["headline"].count()
    return max(filled.index, key=lambda w: (filled[w], w))


def _responses(form: Form, marts: Mapping[str, pd.DataFrame], wave: str) -> int | None:
    """Valid responses: everyone is shown a question asked of all (its shown_n)."""
    shown: list[int] = []
    for entry in form.questions:
        if not entry.is_choice:
            continue
        frame = question_frame(marts, form.instrument, entry.id, wave)
        n = count(frame["shown_n"].max()) if not frame.empty else None
        if n is not None and not entry.asked_if:
            shown.append(n)
    return max(shown) if shown else None


def _survey(form: Form, marts: Mapping[str, pd.DataFrame], wave: str) -> Survey:
    audience, unit = AUDIENCE.get(form.instrument, (form.title, "件"))
    return Survey(
        instrument=form.instrument,
        title=form.title,
        audience=audience,
        unit=unit,
        responses=_responses(form, marts, wave),
        opens=form.opens,
        closes=form.closes,
        method=METHOD.get(form.export, "オンラインにより回答"),
    )


def _routing_note(slides: Sequence[Slide], forms: Sequence[Form]) -> str:
    """The seed's note on screened questions: which slide numbers were asked of whom."""
    groups: dict[str, list[int]] = {}
    by_key = {question_key(f.instrument, e.id): (f, e) for f in forms for e in f.questions}
    for slide in slides:
        for panel in slide.panels:
            found = by_key.get(panel.key)
            if found is None:
                continue
            form, entry = found
            screened = [(d, v) for d, v in entry.asked_if if form.entry(d).is_attribute]
            if not screened:
                continue
            n = "" if panel.shown_n is None else str(panel.shown_n)
            cond = "、かつ".join(_condition(form, d, v) for d, v in screened)
            text = f"{cond}{n}{_unit(form.instrument)}に対し"
            numbers = groups.setdefault(text, [])
            if slide.number not in numbers:
                numbers.append(slide.number)
    if not groups:
        return ""
    parts = [f"番号{runs_text(nums)}の設問は、{text}" for text, nums in groups.items()]
    tail = "、それぞれ質問を行った。" if len(parts) > 1 else "質問を行った。"
    return fullwidth("※ " + "、".join(parts) + tail)


def build_model(
    codebook: Codebook, marts: Mapping[str, pd.DataFrame], wave: str | None = None
) -> Report:
    """The whole report for one wave (default: `default_wave`)."""
    wave = str(wave) if wave is not None else default_wave(marts)
    forms = [f for f in codebook.forms if f.wave == wave]
    if not forms:
        raise ValueError(f"the codebook has no form for wave {wave}")
    # The main survey is the one most slides come from.
    forms.sort(key=lambda f: (-sum(e.slide is not None for e in f.questions), f.instrument))
    heads = marts.get(HEADLINES_KEY, pd.DataFrame(columns=["wave", "slide", "title", "headline"]))
    heads = heads[heads["wave"].astype(str) == wave]
    head_by_slide = {count(r["slide"]): r for r in heads.to_dict("records")}
    slides: list[Slide] = []
    for rule in load_rules()["slides"]:
        no = int(rule["slide"])
        panels: list[Panel] = []
        crosswalked: set[str] = set()
        for form in forms:
            for cw in form.crosswalks:
                if cw.slide == no:
                    crosswalked.update({cw.question, cw.to_question})
                    p = _gap_panel(codebook, form, cw.id, marts, wave)
                    if p is not None:
                        panels.append(p)
        for form in forms:
            for entry in form.questions:
                if entry.slide == no and entry.is_choice and entry.id not in crosswalked:
                    p = _question_panel(form, entry, marts, wave)
                    if p is not None:
                        panels.append(p)
        head = head_by_slide.get(no, {})
        headline = head.get("headline")
        slides.append(
            Slide(
                number=no,
                title=str(head.get("title") or rule.get("title") or ""),
                headline=None if headline is None or pd.isna(headline) else str(headline),
                panels=tuple(panels),
            )
        )
    main = forms[0]
    return Report(
        wave=wave,
        title=f"{main.title}の結果概要",
        surveys=tuple(_survey(f, marts, wave) for f in forms),
        toc=toc_groups([(s.number, s.title) for s in slides]),
        routing_note=_routing_note(slides, forms),
        slides=tuple(slides),
    )
