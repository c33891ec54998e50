"""The results summary as one self-contained HTML file.

Nothing is fetched when it is opened: the styles, the SVG charts and a subset of the font
(only the glyphs the page uses, as base64 WOFF) are inline. Each slide is an A4-landscape box;
print CSS puts one per page. Text block heights are measured with the font's own metrics so
each chart gets the room left on its slide.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from xml.sax.saxutils import escape

from koryu_pipeline.report.charts import panel_svg
from koryu_pipeline.report.fonts import FAMILY, subset_woff, wrap
from koryu_pipeline.report.slides import (
    N_NOTE,
    Panel,
    Report,
    Slide,
    sentences,
    wave_label,
    window_text,
)
from koryu_pipeline.report.sources import fullwidth

# A4 landscape at 96 px/in: 297 x 210 mm. Every size below is in CSS px.
SLIDE_W, SLIDE_H = 1122, 793
PAD_X, PAD_Y = 44, 30
INNER_W = SLIDE_W - 2 * PAD_X
TITLE = 24
HEAD = 17
SMALL = 11.5
CAPTION = 14.5
LINE = 1.45  # line-height of every text block
PANEL_GAP = 28
FOOT = 16  # the footer line

CSS = f"""
@page {{ size: A4 landscape; margin: 0; }}
* {{ box-sizing: border-box; }}
html, body {{ margin: 0; padding: 0; }}
body {{ font-family: "{FAMILY}", sans-serif; color: #222; background: #8a8f96;
  -webkit-print-color-adjust: exact; print-color-adjust: exact; }}
.slide {{ width: 297mm; height: 210mm; padding: {PAD_Y}px {PAD_X}px; margin: 16px auto;
  background: #fff; overflow: hidden; position: relative; display: flex;
  flex-direction: column; box-shadow: 0 2px 10px rgba(0,0,0,.35); }}
.slide > header {{ display: flex; align-items: center; gap: 14px; height: 40px;
  border-bottom: 3px solid #2f6ca3; margin-bottom: 12px; flex: none; }}
.slide > header .no {{ background: #2f6ca3; color: #fff; font-size: 18px; min-width: 34px;
  height: 30px; line-height: 30px; text-align: center; border-radius: 3px; padding: 0 6px; }}
.slide h1, .slide h2 {{ font-weight: bold; margin: 0; }}
.slide h2 {{ font-size: {TITLE}px; line-height: 1.2; }}
.headline {{ font-size: {HEAD}px; line-height: {LINE}; margin: 0 0 12px; flex: none; }}
.headline p {{ margin: 0; }}
.panels {{ display: flex; gap: {PANEL_GAP}px; flex: 1 1 auto; min-height: 0; }}
figure {{ margin: 0; flex: 1 1 0; min-width: 0; display: flex; flex-direction: column; }}
figcaption {{ font-size: {CAPTION}px; line-height: {LINE}; font-weight: bold; flex: none; }}
.question, .base {{ font-size: {SMALL}px; line-height: {LINE}; margin: 0; color: #444;
  flex: none; }}
.question {{ margin-bottom: 4px; }}
.base {{ margin-top: 4px; }}
.base b {{ color: #222; }}
svg.chart {{ display: block; flex: none; }}
.slide > footer {{ position: absolute; left: {PAD_X}px; right: {PAD_X}px; bottom: 10px;
  height: {FOOT}px; font-size: 10px; line-height: {FOOT}px; color: #777; display: flex;
  justify-content: space-between; }}
.empty {{ font-size: {HEAD}px; color: #777; }}
.cover h1 {{ font-size: 30px; line-height: 1.35; margin: 26px 0 6px; color: #1d4f7c; }}
.cover .wave {{ font-size: 15px; color: #555; margin-bottom: 18px; }}
.cover .cols {{ display: flex; gap: 40px; }}
.cover dl {{ flex: 1.1; margin: 0; font-size: 14px; line-height: {LINE};
  display: grid; grid-template-columns: max-content 1fr; gap: 6px 14px; align-content: start; }}
.cover dt {{ font-weight: bold; color: #1d4f7c; }}
.cover dd {{ margin: 0; }}
.cover nav {{ flex: 1; font-size: 13.5px; line-height: 1.5; }}
.cover nav h3 {{ font-size: 15px; margin: 0 0 2px; color: #1d4f7c; }}
.cover nav h4 {{ font-size: 13.5px; margin: 6px 0 0; }}
.cover nav ol {{ margin: 0; padding: 0; list-style: none; }}
.cover nav li span {{ display: inline-block; min-width: 2.2em; color: #2f6ca3; }}
.cover nav a {{ color: inherit; text-decoration: none; }}
.cover .notes {{ font-size: 12px; line-height: {LINE}; color: #444; margin-top: 16px; }}
.cover .notes p {{ margin: 0 0 4px; }}
@media print {{
  body {{ background: #fff; }}
  .slide {{ margin: 0; box-shadow: none; break-after: page; page-break-after: always; }}
}}
"""


def _lines(text: str, width: float, size: float) -> int:
    return len(wrap(text, width, size)) if text else 0


@dataclass(frozen=True)
class _Blocks:
    """Heights of a panel's text blocks, shared by the panels of a slide so that their
    charts start and end level."""

    caption: float
    question: float
    base: float

    @property
    def total(self) -> float:
        return self.caption + self.question + self.base


def _blocks(panel: Panel, width: float, caption: bool) -> _Blocks:
    return _Blocks(
        caption=_lines(panel.title, width, CAPTION) * CAPTION * LINE if caption else 0,
        question=_lines(fullwidth(panel.question), width, SMALL) * SMALL * LINE,
        base=_lines(f"{panel.base_text}　{panel.note}", width, SMALL) * SMALL * LINE,
    )


def _panel_html(panel: Panel, width: float, height: float, blocks: _Blocks) -> str:
    parts = ['<figure class="panel" data-key="' + escape(panel.key) + '">']
    if blocks.caption:
        style = f' style="min-height:{_px(blocks.caption)}"'
        parts.append(f"<figcaption{style}>{escape(panel.title)}</figcaption>")
    if blocks.question:
        style = f' style="min-height:{_px(blocks.question)}"'
        parts.append(f'<p class="question"{style}>{escape(fullwidth(panel.question))}</p>')
    # 4 px margin above the base, 4 below the question, 6 to spare
    parts.append(panel_svg(panel, width, max(height - blocks.total - 14, 120)))
    base = f"<b>{escape(panel.base_text)}</b>　{escape(panel.note)}"
    parts.append(f'<p class="base">{base}</p></figure>')
    return "".join(parts)


def _px(x: float) -> str:
    return f"{x:.1f}px"


def _footer(report: Report, page: int) -> str:
    return (
        f"<footer><span>{escape(report.title)}（{escape(wave_label(report.wave))}）</span>"
        f"<span>{page}</span></footer>"
    )


def slide_html(report: Report, slide: Slide, page: int) -> str:
    head = [f"<p>{escape(s)}</p>" for s in sentences(slide.headline)]
    head_h = sum(_lines(s, INNER_W, HEAD) for s in sentences(slide.headline)) * HEAD * LINE
    # what is left for the panels: slide minus padding, header, headline, footer
    room = SLIDE_H - 2 * PAD_Y - 52 - (head_h + 12 if head else 0) - FOOT - 4
    k = max(len(slide.panels), 1)
    width = (INNER_W - PANEL_GAP * (k - 1)) / k
    caption = k > 1 or any(p.kind == "gap" for p in slide.panels)
    each = [_blocks(p, width, caption) for p in slide.panels]
    shared = _Blocks(
        caption=max((b.caption for b in each), default=0),
        question=max((b.question for b in each), default=0),
        base=max((b.base for b in each), default=0),
    )
    panels = [_panel_html(p, width, room, shared) for p in slide.panels]
    body = "".join(panels) or '<p class="empty">この回の集計結果はありません。</p>'
    return (
        f'<section class="slide finding" id="slide-{slide.number}" data-slide="{slide.number}">'
        f'<header><span class="no">{fullwidth(str(slide.number))}</span>'
        f"<h2>{escape(slide.title)}</h2></header>"
        f'<div class="headline">{"".join(head)}</div>'
        f'<div class="panels">{body}</div>{_footer(report, page)}</section>'
    )


def cover_html(report: Report) -> str:
    main = report.main
    facts = [
        ("調査対象", main.audience),
        ("有効回答数", fullwidth(f"{main.responses or '－'}{main.unit}")),
        ("実施期間", window_text(main)),
        ("実施方法", main.method),
    ]
    for other in report.surveys[1:]:
        facts.append(
            (
                "関連調査",
                fullwidth(
                    f"{other.title}（対象：{other.audience}、有効回答数：{other.responses or '－'}"
                    f"{other.unit}、実施期間：{window_text(other)}、{other.method}）"
                ),
            )
        )
    dl = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts)
    toc: list[str] = ["<h3>目次</h3>"]
    for group in report.toc:
        if group.name:
            toc.append(f"<h4>{escape(group.name)}</h4>")
        items = "".join(
            f'<li><span>{fullwidth(str(n))}</span><a href="#slide-{n}">{escape(t)}</a></li>'
            for n, t in group.slides
        )
        toc.append(f"<ol>{items}</ol>")
    notes = "".join(f"<p>{escape(n)}</p>" for n in (N_NOTE, report.routing_note) if n)
    return (
        '<section class="slide cover" id="cover" data-slide="0">'
        f"<h1>{escape(report.title)}</h1>"
        f'<div class="wave">{escape(wave_label(report.wave))}</div>'
        f'<div class="cols"><dl>{dl}</dl><nav>{"".join(toc)}</nav></div>'
        f'<div class="notes">{notes}</div>{_footer(report, 1)}</section>'
    )


def render_html(report: Report) -> str:
    body = cover_html(report) + "".join(
        slide_html(report, s, page) for page, s in enumerate(report.slides, start=2)
    )
    title = f"{report.title}（{wave_label(report.wave)}）"
    text = re.sub(r"<[^>]+>", "", body) + title
    font = base64.b64encode(subset_woff(text)).decode("ascii")
    face = (
        f'@font-face {{ font-family: "{FAMILY}"; font-display: block; '
        f'src: url(data:font/woff;base64,{font}) format("woff"); }}'
    )
    return (
        '<!DOCTYPE html>\n<html lang="ja"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{face}{CSS}</style></head>"
        f"<body>{body}</body></html>\n"
    )
