"""The results summary as PowerPoint: a cover with the contents, then one slide per finding.

Titles and headlines are text; every chart is a native PowerPoint chart with its data in the
embedded workbook (editable as PowerPoint users expect), coloured as the HTML. The 95%
intervals are drawn in the HTML and listed in the workbook; on a slide, whiskers would run
through PowerPoint's value labels, so the deck shows the values.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

from lxml import etree
from pptx import Presentation
from pptx.chart.chart import Chart
from pptx.chart.data import CategoryChartData
from pptx.dml.color import RGBColor
from pptx.enum.chart import XL_CHART_TYPE, XL_LABEL_POSITION, XL_LEGEND_POSITION
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.oxml.ns import qn
from pptx.slide import Slide as PptxSlide
from pptx.text.text import Font, TextFrame
from pptx.util import Emu, Pt

from koryu_pipeline.report.charts import BAR, LIKERT, SERIES, likert_colours
from koryu_pipeline.report.fonts import OFFICE_FONT
from koryu_pipeline.report.ooxml import deterministic_zip
from koryu_pipeline.report.slides import (
    N_NOTE,
    Bar,
    Panel,
    Report,
    Slide,
    sentences,
    wave_label,
    window_text,
)
from koryu_pipeline.report.sources import fullwidth

# PowerPoint's "A4 paper" slide size, so the deck prints as the HTML does.
WIDTH, HEIGHT = Emu(9906000), Emu(6858000)
MARGIN = Emu(380000)
INNER = WIDTH - 2 * MARGIN
NAVY = RGBColor(0x1D, 0x4F, 0x7C)
GREY = RGBColor(0x44, 0x44, 0x44)
PCT_FORMAT = "0.0"
LIKERT_LABEL = "0;-0;;"  # a 0% segment has no width: no label either


def _rgb(hex_colour: str) -> RGBColor:
    return RGBColor.from_string(hex_colour.lstrip("#").upper())


def _style(font: Font, size: float, bold: bool = False, colour: RGBColor | None = None) -> None:
    font.size = Pt(size)
    font.bold = bold
    font.name = OFFICE_FONT
    # Japanese text is drawn with the East Asian typeface, which python-pptx does not name.
    rpr = font._element  # the a:rPr / a:defRPr element behind the Font
    ea = rpr.find(qn("a:ea"))
    if ea is None:
        ea = etree.SubElement(rpr, qn("a:ea"))
    ea.set("typeface", OFFICE_FONT)
    if colour is not None:
        font.color.rgb = colour


def _text(
    slide: PptxSlide,
    left: int,
    top: int,
    width: int,
    height: int,
    paragraphs: Sequence[str],
    size: float,
    bold: bool = False,
    colour: RGBColor | None = None,
) -> TextFrame:
    box = slide.shapes.add_textbox(Emu(left), Emu(top), Emu(width), Emu(height))
    frame = box.text_frame
    frame.word_wrap = True
    frame.vertical_anchor = MSO_ANCHOR.TOP
    for i, text in enumerate(paragraphs):
        para = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        run = para.add_run()
        run.text = text
        _style(run.font, size, bold, colour)
    return frame


def _title(slide: PptxSlide, text: str) -> None:
    shape = slide.shapes.title
    shape.left, shape.top, shape.width, shape.height = MARGIN, Emu(200000), INNER, Emu(520000)
    frame = shape.text_frame
    frame.text = text
    frame.word_wrap = True
    para = frame.paragraphs[0]
    para.alignment = PP_ALIGN.LEFT
    _style(para.runs[0].font, 22, bold=True, colour=NAVY)


def _headline_size(text: str) -> float:
    return 15 if len(text) <= 90 else 13 if len(text) <= 180 else 11.5


# --------------------------------------------------------------------------- charts


def _values(bars: Sequence[Bar]) -> list[float | None]:
    return [None if b.suppressed else b.pct for b in bars]


def _bar_chart(slide: PptxSlide, panel: Panel, box: tuple[int, int, int, int]) -> None:
    data = CategoryChartData(number_format=PCT_FORMAT)
    if panel.kind == "gap":
        data.categories = [g.label for g in panel.gaps]
        sides = [[g.source for g in panel.gaps], [g.target for g in panel.gaps]]
        for name, bars in zip(panel.series, sides, strict=True):
            data.add_series(name, _values(bars))
        colours = SERIES
    else:
        data.categories = [b.label for b in panel.bars]
        data.add_series("割合（％）", _values(panel.bars))
        colours = (BAR,)
    frame = slide.shapes.add_chart(XL_CHART_TYPE.BAR_CLUSTERED, *map(Emu, box), data)
    chart = frame.chart
    chart.has_title = False
    plot = chart.plots[0]
    plot.gap_width = 60
    plot.overlap = 0
    plot.has_data_labels = True
    labels = plot.data_labels
    labels.number_format = PCT_FORMAT
    labels.number_format_is_linked = False
    labels.position = XL_LABEL_POSITION.OUTSIDE_END
    _style(labels.font, 8)
    for series, colour in zip(plot.series, colours, strict=True):
        series.format.fill.solid()
        series.format.fill.fore_color.rgb = _rgb(colour)
    _axes(chart, 100)
    chart.has_legend = panel.kind == "gap"
    if chart.has_legend:
        chart.legend.position = XL_LEGEND_POSITION.TOP
        chart.legend.include_in_layout = False
        _style(chart.legend.font, 9)


def _axes(chart: Chart, maximum: float) -> None:
    cat = chart.category_axis
    cat.reverse_order = True  # first option at the top, as the form lists them
    _style(cat.tick_labels.font, 9)
    val = chart.value_axis
    val.minimum_scale, val.maximum_scale = 0, maximum
    val.has_major_gridlines = True
    val.tick_labels.number_format = '0"%"'
    val.tick_labels.number_format_is_linked = False
    _style(val.tick_labels.font, 8)


def _likert_chart(slide: PptxSlide, panel: Panel, box: tuple[int, int, int, int]) -> None:
    data = CategoryChartData(number_format=PCT_FORMAT)
    data.categories = [r.label for r in panel.likert]
    for j, point in enumerate(panel.points):
        data.add_series(point, [r.pcts[j] for r in panel.likert])
    frame = slide.shapes.add_chart(XL_CHART_TYPE.BAR_STACKED_100, *map(Emu, box), data)
    chart = frame.chart
    chart.has_title = False
    plot = chart.plots[0]
    plot.gap_width = 50
    plot.has_data_labels = True
    labels = plot.data_labels
    labels.number_format = LIKERT_LABEL
    labels.number_format_is_linked = False
    _style(labels.font, 8)
    for series, colour in zip(plot.series, likert_colours(panel.dont_know), strict=True):
        series.format.fill.solid()
        series.format.fill.fore_color.rgb = _rgb(colour)
        if colour in (LIKERT[0], LIKERT[-1]):
            own = series.data_labels  # a series' own labels replace the plot's: restate them
            own.show_value = True
            own.number_format = LIKERT_LABEL
            own.number_format_is_linked = False
            _style(own.font, 8, colour=RGBColor(0xFF, 0xFF, 0xFF))
    _axes(chart, 1)
    chart.value_axis.tick_labels.number_format = "0%"
    chart.has_legend = True
    chart.legend.position = XL_LEGEND_POSITION.TOP
    chart.legend.include_in_layout = False
    _style(chart.legend.font, 9)


# --------------------------------------------------------------------------- slides


def _finding(prs: Presentation, report: Report, slide: Slide) -> None:
    s = prs.slides.add_slide(prs.slide_layouts[5])  # "Title Only": the title stays a title
    _title(s, f"{fullwidth(str(slide.number))}　{slide.title}")
    lines = sentences(slide.headline) or ["この回の集計結果はありません。"]
    size = _headline_size(slide.headline or "")
    head_h = 1050000 if size < 13 else 800000
    _text(s, MARGIN, 760000, INNER, head_h, lines, size)
    top = 760000 + head_h + 60000
    foot_h = 420000
    k = max(len(slide.panels), 1)
    gap = 200000
    width = (INNER - gap * (k - 1)) // k
    height = HEIGHT - top - foot_h - 330000
    for i, panel in enumerate(slide.panels):
        left = MARGIN + i * (width + gap)
        cap_h = 0
        if k > 1 or panel.kind == "gap":
            cap_h = 300000
            _text(s, left, top, width, cap_h, [panel.title], 11, bold=True)
        box = (left, top + cap_h, width, height - cap_h)
        if panel.kind == "likert":
            _likert_chart(s, panel, box)
        else:
            _bar_chart(s, panel, box)
        _text(
            s,
            left,
            top + height + 20000,
            width,
            foot_h,
            [f"{panel.base_text}　{panel.note}"],
            8.5,
            colour=GREY,
        )
    _text(
        s,
        MARGIN,
        HEIGHT - 300000,
        INNER,
        250000,
        [f"{report.title}（{wave_label(report.wave)}）"],
        8,
        colour=GREY,
    )


def _cover(prs: Presentation, report: Report) -> None:
    s = prs.slides.add_slide(prs.slide_layouts[5])
    _title(s, report.title)
    main = report.main
    facts = [
        f"調査対象：{main.audience}",
        fullwidth(f"有効回答数：{main.responses or '－'}{main.unit}"),
        f"実施期間：{window_text(main)}",
        f"実施方法：{main.method}",
    ]
    for other in report.surveys[1:]:
        facts.append(
            fullwidth(
                f"関連調査：{other.title}（有効回答数：{other.responses or '－'}{other.unit}）"
            )
        )
    half = INNER // 2 - 100000
    _text(s, MARGIN, 760000, half, 300000, [wave_label(report.wave)], 12, colour=GREY)
    _text(s, MARGIN, 1100000, half, 2600000, facts, 12)
    toc: list[str] = ["目次"]
    for group in report.toc:
        if group.name:
            toc.append(f"【{group.name}】")
        toc.extend(fullwidth(f"{n}　{t}") for n, t in group.slides)
    _text(s, MARGIN + half + 200000, 760000, half, 4600000, toc, 10.5)
    notes = [n for n in (N_NOTE, report.routing_note) if n]
    _text(s, MARGIN, 5450000, INNER, 1000000, notes, 9, colour=GREY)


def render_pptx(report: Report, when: datetime) -> bytes:
    prs = Presentation()
    prs.slide_width, prs.slide_height = WIDTH, HEIGHT
    props = prs.core_properties
    props.title = f"{report.title}（{wave_label(report.wave)}）"
    props.author = props.last_modified_by = "koryu-pipeline"
    props.created = props.modified = when
    props.revision = 1
    _cover(prs, report)
    for slide in report.slides:
        _finding(prs, report, slide)
    out = io.BytesIO()
    prs.save(out)
    return deterministic_zip(out.getvalue(), when)
