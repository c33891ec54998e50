"""The tables (集計表) as an Excel workbook: a contents sheet, the headlines, one sheet per
question and one per comparison, for the report's wave.

Every text cell is written as a string (XlsxWriter's write_string), never through the
type-guessing write(): a label beginning with =, +, - or @ stays text and cannot run as a
formula. Figures are numbers with a display format; a suppressed cell is left empty.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from koryu_pipeline.report.fonts import OFFICE_FONT
from koryu_pipeline.report.ooxml import deterministic_zip
from koryu_pipeline.report.slides import (
    Report,
    base_text,
    count,
    flag,
    number,
    question_frame,
    routing_condition,
    wave_label,
)
from koryu_pipeline.report.sources import (
    COMPARISON_KEYS,
    DISPATCH_VS_HIRING_KEY,
    HEADLINES_KEY,
    SUPPORT_GAP_KEY,
    WAVES_KEY,
    Codebook,
    fullwidth,
    question_key,
)

HEADER_ROW = 4  # 0-based: rows 1-3 say what the sheet is, row 5 heads the columns
CONTENTS = "目次"
HEADLINES = "見出し"

# mart column -> Japanese header of a question sheet; each kind of question shows its own
# columns, in this order
_QUESTION_HEADERS = {
    "item_label": "項目",
    "option_label": "選択肢",
    "n": "回答数",
    "base_n": "基数（回答者数）",
    "shown_n": "質問した数",
    "pct": "割合（％）",
    "ci_low": "95％信頼区間 下限（％）",
    "ci_high": "95％信頼区間 上限（％）",
    "positive_pct": "肯定的な回答（％）",
    "negative_pct": "否定的な回答（％）",
    "positive_pct_excl_dk": "肯定的な回答（「分からない」除く、％）",
    "pct_of_responses": "全選択数に占める割合（％）",
    "suppressed": "秘匿",
}
_LIKERT_ONLY = ("item_label", "positive_pct", "negative_pct", "positive_pct_excl_dk")
LIKERT_COLUMNS = {k: v for k, v in _QUESTION_HEADERS.items() if k != "pct_of_responses"}
CHOICE_COLUMNS = {k: v for k, v in _QUESTION_HEADERS.items() if k not in _LIKERT_ONLY}
SUPPORT_GAP_COLUMNS = {
    "hires_rank": "交流採用者の順位",
    "hires_option_label": "交流採用者アンケートの選択肢",
    "ministry_option_label": "各府省等アンケートの選択肢",
    "hires_n": "交流採用者 回答数",
    "hires_base_n": "交流採用者 基数",
    "hires_pct": "交流採用者 割合（％）",
    "ministry_n": "府省等 回答数",
    "ministry_base_n": "府省等 基数",
    "ministry_pct": "府省等 割合（％）",
    "gap_pct_points": "差（ポイント）",
    "gap_ci_low": "差の95％信頼区間 下限",
    "gap_ci_high": "差の95％信頼区間 上限",
}
DISPATCH_VS_HIRING_COLUMNS = {
    "dispatch_question_id": "交流派遣の設問",
    "hiring_question_id": "交流採用の設問",
    "measure": "指標",
    "label": "項目・選択肢",
    "dispatch_n": "交流派遣 回答数",
    "dispatch_base_n": "交流派遣 基数",
    "dispatch_pct": "交流派遣 割合（％）",
    "hiring_n": "交流採用 回答数",
    "hiring_base_n": "交流採用 基数",
    "hiring_pct": "交流採用 割合（％）",
    "diff_pct_points": "差（ポイント）",
    "diff_ci_low": "差の95％信頼区間 下限",
    "diff_ci_high": "差の95％信頼区間 上限",
}
WAVES_COLUMNS = {
    "instrument": "調査票",
    "question_id": "設問",
    "item_label": "項目",
    "option_label": "選択肢",
    "previous_wave": "前回",
    "previous_n": "前回 回答数",
    "previous_base_n": "前回 基数",
    "previous_pct": "前回 割合（％）",
    "n": "今回 回答数",
    "base_n": "今回 基数",
    "pct": "今回 割合（％）",
    "diff_pct_points": "差（ポイント）",
    "diff_ci_low": "差の95％信頼区間 下限",
    "diff_ci_high": "差の95％信頼区間 上限",
}
COMPARISON_SHEETS = {
    SUPPORT_GAP_KEY: ("support_gap", "府省と交流採用者の認識差（支援）", SUPPORT_GAP_COLUMNS),
    DISPATCH_VS_HIRING_KEY: (
        "dispatch_vs_hiring",
        "交流派遣と交流採用の比較（同じ項目・選択肢）",
        DISPATCH_VS_HIRING_COLUMNS,
    ),
    WAVES_KEY: ("waves", "前回調査との比較", WAVES_COLUMNS),
}
# what a suppressed row withholds (its base stays: it says why the row is empty)
WITHHELD = frozenset(
    {"n", "pct", "ci_low", "ci_high", "positive_pct", "negative_pct", "positive_pct_excl_dk",
     "pct_of_responses", "positive_n", "negative_n", "dont_know_n"}
)  # fmt: skip


@dataclass(frozen=True)
class SheetPlan:
    name: str
    title: str
    lines: tuple[str, ...]  # what the sheet is: question, base, who was asked
    frame: pd.DataFrame
    columns: Mapping[str, str]
    source: str  # the mart key


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WFA" else 1 for c in text)


def _question_sheets(
    codebook: Codebook, report: Report, marts: Mapping[str, pd.DataFrame]
) -> list[SheetPlan]:
    """One sheet per question of the wave's forms, slide order first, then the rest."""
    forms = [f for f in codebook.forms if f.wave == report.wave]
    order = {p.key: (s.number, i) for s in report.slides for i, p in enumerate(s.panels)}
    plans: list[tuple[tuple[int, int, int], SheetPlan]] = []
    for fi, form in enumerate(sorted(forms, key=lambda f: f.instrument != report.main.instrument)):
        unit = next((s.unit for s in report.surveys if s.instrument == form.instrument), "件")
        for qi, entry in enumerate(form.questions):
            if not entry.is_choice:
                continue
            frame = question_frame(marts, form.instrument, entry.id, report.wave)
            if frame.empty:
                continue
            key = question_key(form.instrument, entry.id)
            slide, pos = order.get(key, (999, 0))
            sort_cols = ["item_sort", "option_sort"] if entry.type == "likert" else ["option_sort"]
            frame = frame.sort_values(sort_cols, kind="stable")
            cond = routing_condition(form, entry)
            shown = count(frame["shown_n"].max())
            asked = f"{cond}{shown}{unit}に質問" if cond else f"全{shown}{unit}に質問"
            lines = (
                fullwidth(entry.header),
                base_text([count(v) for v in frame["base_n"]], unit),
                fullwidth(asked),
            )
            slide_note = f"スライド{slide}　" if slide != 999 else ""
            what = entry.title or entry.header
            plans.append(
                (
                    (slide, pos, fi * 1000 + qi),
                    SheetPlan(
                        name=f"{form.instrument}_{entry.id}"[:31],
                        title=fullwidth(f"{slide_note}{what}（{form.title}）"),
                        lines=lines,
                        frame=frame,
                        columns=LIKERT_COLUMNS if entry.type == "likert" else CHOICE_COLUMNS,
                        source=key,
                    ),
                )
            )
    return [p for _, p in sorted(plans, key=lambda x: x[0])]


def _comparison_sheets(report: Report, marts: Mapping[str, pd.DataFrame]) -> list[SheetPlan]:
    plans: list[SheetPlan] = []
    for key in COMPARISON_KEYS:
        frame = marts.get(key)
        name, title, columns = COMPARISON_SHEETS[key]
        if frame is None:
            continue
        frame = frame[frame["wave"].astype(str) == report.wave]
        if key == SUPPORT_GAP_KEY:
            frame = frame.sort_values(["hires_rank", "hires_option_code"], kind="stable")
        lines = ("差はポイント（左−右）、信頼区間は Newcombe 法の95％信頼区間",)
        if frame.empty:
            lines = (*lines, "この回には比較できるデータがありません。")
        plans.append(SheetPlan(name, title, lines, frame, columns, key))
    return plans


def _print_setup(ws: Worksheet, repeat: bool = True) -> None:
    """A4 landscape, one page wide, the column headers on every page."""
    ws.set_paper(9)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    if repeat:
        ws.repeat_rows(HEADER_ROW)


class _Writer:
    def __init__(self, book: xlsxwriter.Workbook) -> None:
        base = {"font_name": OFFICE_FONT, "font_size": 10, "valign": "top"}
        self.book = book
        self.text = book.add_format({**base, "text_wrap": True})
        self.title = book.add_format({**base, "bold": True, "font_size": 13})
        self.note = book.add_format({**base, "font_color": "#444444"})
        self.head = book.add_format(
            {**base, "bold": True, "bg_color": "#DCE6F1", "border": 1, "text_wrap": True}
        )
        self.int = book.add_format({**base, "num_format": "0"})
        self.pct = book.add_format({**base, "num_format": "0.0"})
        self.link = book.add_format({**base, "font_color": "#1F4E79", "underline": 1})

    def cell(self, ws: Worksheet, row: int, col: int, value: object, column: str) -> int:
        """Write one value; returns its display width."""
        if column == "suppressed":
            if flag(value):
                ws.write_string(row, col, "秘匿", self.text)
                return 4
            ws.write_blank(row, col, None, self.text)
            return 0
        if isinstance(value, str):
            ws.write_string(row, col, value, self.text)  # never a formula, whatever it begins with
            return _display_width(value)
        v = number(value)  # numpy and pandas scalars alike; None for any null
        if v is None:
            ws.write_blank(row, col, None, self.text)
            return 0
        is_count = v.is_integer() and not column.endswith(("pct", "ci_low", "ci_high", "points"))
        ws.write_number(row, col, v, self.int if is_count else self.pct)
        return len(f"{v:.1f}")

    def sheet(self, plan: SheetPlan) -> None:
        ws = self.book.add_worksheet(plan.name)
        ws.write_string(0, 0, plan.title, self.title)
        for i, line in enumerate(plan.lines[: HEADER_ROW - 1], start=1):
            ws.write_string(i, 0, line, self.note)
        cols = [c for c in plan.columns if c in plan.frame.columns]
        widths = [_display_width(plan.columns[c]) // 2 + 2 for c in cols]
        for j, c in enumerate(cols):
            ws.write_string(HEADER_ROW, j, plan.columns[c], self.head)
        rows = plan.frame[cols].to_dict("records")
        for i, row in enumerate(rows, start=HEADER_ROW + 1):
            hidden = flag(row.get("suppressed"))
            for j, c in enumerate(cols):
                value = None if hidden and c in WITHHELD else row[c]
                widths[j] = max(widths[j], self.cell(ws, i, j, value, c) + 2)
        for j, w in enumerate(widths):
            ws.set_column(j, j, min(max(w, 8), 60))
        ws.set_row(HEADER_ROW, 42)  # room for a header wrapped on three lines
        ws.freeze_panes(HEADER_ROW + 1, 0)
        _print_setup(ws)

    def contents(self, report: Report, plans: Sequence[SheetPlan]) -> None:
        ws = self.book.add_worksheet(CONTENTS)
        ws.write_string(0, 0, f"{report.title}　集計表（{wave_label(report.wave)}）", self.title)
        ws.write_string(1, 0, "シート名をクリックすると各表へ移動します。", self.note)
        for j, head in enumerate(("シート", "内容", "出典（テーブル）")):
            ws.write_string(HEADER_ROW, j, head, self.head)
        rows = [(HEADLINES, "各スライドの見出し（結果の要旨）", HEADLINES_KEY)]
        rows += [(p.name, p.title, p.source) for p in plans]
        for i, (name, title, source) in enumerate(rows, start=HEADER_ROW + 1):
            ws.write_url(i, 0, f"internal:'{name}'!A1", self.link, string=name)
            ws.write_string(i, 1, title, self.text)
            ws.write_string(i, 2, source, self.text)
        ws.set_column(0, 0, 24)
        ws.set_column(1, 1, 70)
        ws.set_column(2, 2, 40)
        ws.freeze_panes(HEADER_ROW + 1, 0)
        _print_setup(ws)

    def headlines(self, report: Report) -> None:
        ws = self.book.add_worksheet(HEADLINES)
        ws.write_string(0, 0, f"各スライドの見出し（{wave_label(report.wave)}）", self.title)
        for j, head in enumerate(("スライド", "表題", "見出し")):
            ws.write_string(HEADER_ROW, j, head, self.head)
        for i, s in enumerate(report.slides, start=HEADER_ROW + 1):
            ws.write_number(i, 0, s.number, self.int)
            ws.write_string(i, 1, s.title, self.text)
            ws.write_string(i, 2, s.headline or "", self.text)
        ws.set_column(0, 0, 9)
        ws.set_column(1, 1, 44)
        ws.set_column(2, 2, 110)
        ws.freeze_panes(HEADER_ROW + 1, 0)
        _print_setup(ws)


def render_xlsx(
    codebook: Codebook, report: Report, marts: Mapping[str, pd.DataFrame], when: datetime
) -> bytes:
    plans = _question_sheets(codebook, report, marts) + _comparison_sheets(report, marts)
    out = io.BytesIO()
    book = xlsxwriter.Workbook(
        out,
        {
            "in_memory": True,
            # belt and braces: even write() would not turn text into formulas, numbers or links
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    book.set_properties(
        {
            "title": f"{report.title}　集計表（{wave_label(report.wave)}）",
            "author": "koryu-pipeline",
            "created": when,
        }
    )
    writer = _Writer(book)
    writer.contents(report, plans)
    writer.headlines(report)
    for plan in plans:
        writer.sheet(plan)
    book.close()
    return deterministic_zip(out.getvalue(), when)
