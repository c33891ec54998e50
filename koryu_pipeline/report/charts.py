"""The HTML's charts as inline SVG, laid out with the embedded font's own metrics.

Three kinds, as the seed draws them: a likert grid as 100% stacked horizontal bars (scale
order, 分からない set apart at the end, items in form order); a choice question as horizontal
bars in form order with 95% (Wilson) interval whiskers; slide 14 as each support's wish beside
the effort, with the gap and its Newcombe interval. A suppressed figure is drawn as nothing
but the word 秘匿. Coordinates are SVG user units (CSS px); the HTML scales the picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from koryu_pipeline.report.fonts import FAMILY, text_width, wrap
from koryu_pipeline.report.slides import Bar, Panel

INK = "#222222"
MUTED = "#666666"
GRID = "#d9d9d9"
WHISKER = "#333333"
BAR = "#2f6ca3"
SERIES = ("#2f6ca3", "#e08a2c")  # gap chart: the wish, the effort
GAP = "#7a3e9d"
# negative -> neutral -> positive, and a separate tone for 分からない
LIKERT = ("#b8433a", "#e5a199", "#cfcfcf", "#93b7db", "#2f6ca3")
DONT_KNOW = "#e9dfc6"
SUPPRESSED = "秘匿"


def _f(x: float) -> str:
    """A coordinate: fixed precision so the same data give the same bytes."""
    return f"{x:.1f}".rstrip("0").rstrip(".") if x % 1 else str(int(x))


def pct_label(v: float) -> str:
    return f"{v:.1f}%"


@dataclass
class Svg:
    width: float
    height: float
    parts: list[str] = field(default_factory=list)

    def rect(self, x: float, y: float, w: float, h: float, fill: str, **attrs: str) -> None:
        extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
        self.parts.append(
            f'<rect x="{_f(x)}" y="{_f(y)}" width="{_f(max(w, 0))}" height="{_f(h)}" '
            f'fill="{fill}"{extra}/>'
        )

    def line(self, x1: float, y1: float, x2: float, y2: float, stroke: str, w: float = 1) -> None:
        self.parts.append(
            f'<line x1="{_f(x1)}" y1="{_f(y1)}" x2="{_f(x2)}" y2="{_f(y2)}" '
            f'stroke="{stroke}" stroke-width="{_f(w)}"/>'
        )

    def circle(self, x: float, y: float, r: float, fill: str) -> None:
        self.parts.append(f'<circle cx="{_f(x)}" cy="{_f(y)}" r="{_f(r)}" fill="{fill}"/>')

    def text(
        self,
        x: float,
        y: float,
        s: str,
        size: float,
        fill: str = INK,
        anchor: str = "start",
        weight: str = "normal",
    ) -> None:
        self.parts.append(
            f'<text x="{_f(x)}" y="{_f(y)}" font-size="{_f(size)}" fill="{fill}" '
            f'text-anchor="{anchor}" font-weight="{weight}" dominant-baseline="central">'
            f"{escape(s)}</text>"
        )

    def lines(
        self, x: float, cy: float, rows: Sequence[str], size: float, anchor: str = "end"
    ) -> None:
        """Several lines of text centred vertically on cy."""
        lead = size * 1.2
        top = cy - lead * (len(rows) - 1) / 2
        for i, row in enumerate(rows):
            self.text(x, top + i * lead, row, size, anchor=anchor)

    def render(self, label: str) -> str:
        return (
            f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" '
            f'aria-label="{escape(label, {chr(34): "&quot;"})}" '
            f'viewBox="0 0 {_f(self.width)} {_f(self.height)}" '
            f'width="{_f(self.width)}" height="{_f(self.height)}" '
            f"font-family=\"'{FAMILY}'\">" + "".join(self.parts) + "</svg>"
        )


def _fit_labels(
    labels: Sequence[str], width: float, row_h: float, size: float, min_size: float = 8.5
) -> tuple[float, list[list[str]]]:
    """The largest font size (<= size) at which every label wraps into its row."""
    while True:
        wrapped = [wrap(label, width, size) for label in labels]
        most = max((len(w) for w in wrapped), default=1)
        if most * size * 1.2 <= row_h * 0.92 or size <= min_size:
            return size, wrapped
        size = round(size - 0.5, 1)


def _axis(
    svg: Svg,
    x0: float,
    x1: float,
    top: float,
    bottom: float,
    lo: float,
    hi: float,
    step: float,
    size: float,
    suffix: str = "%",
) -> None:
    v = lo
    while v <= hi + 1e-9:
        x = x0 + (v - lo) / (hi - lo) * (x1 - x0)
        svg.line(x, top, x, bottom, GRID)
        svg.text(x, bottom + size, f"{v:g}{suffix}", size * 0.85, MUTED, "middle")
        v += step


def _whisker(svg: Svg, x_lo: float, x_hi: float, cy: float, cap: float) -> None:
    svg.line(x_lo, cy, x_hi, cy, WHISKER, 1.2)
    svg.line(x_lo, cy - cap, x_lo, cy + cap, WHISKER, 1.2)
    svg.line(x_hi, cy - cap, x_hi, cy + cap, WHISKER, 1.2)


def _bar_row(
    svg: Svg, bar: Bar, x0: float, x1: float, cy: float, h: float, colour: str, size: float
) -> None:
    """One bar with its interval whisker and its value, or 秘匿."""
    if bar.suppressed or bar.pct is None:
        svg.text(x0 + 4, cy, SUPPRESSED, size, MUTED)
        return
    scale = (x1 - x0) / 100
    svg.rect(x0, cy - h / 2, bar.pct * scale, h, colour)
    end = x0 + bar.pct * scale
    if bar.ci_low is not None and bar.ci_high is not None:
        _whisker(svg, x0 + bar.ci_low * scale, x0 + bar.ci_high * scale, cy, h * 0.3)
        end = max(end, x0 + bar.ci_high * scale)
    svg.text(end + 4, cy, pct_label(bar.pct), size)


def bars_svg(panel: Panel, width: float, height: float) -> str:
    """A choice question: one bar per option, in form order, 0-100%, with whiskers."""
    svg = Svg(width, height)
    size = 12.5
    top, bottom = 6.0, height - size * 1.6
    label_w = min(width * 0.42, max(text_width(b.label, size) for b in panel.bars) + 8)
    x0, x1 = label_w + 10, width - text_width("100.0%", size) - 10
    row_h = (bottom - top) / max(len(panel.bars), 1)
    lsize, wrapped = _fit_labels([b.label for b in panel.bars], label_w, row_h, size)
    _axis(svg, x0, x1, top, bottom, 0, 100, 20, size)
    for i, (bar, lines) in enumerate(zip(panel.bars, wrapped, strict=True)):
        cy = top + (i + 0.5) * row_h
        svg.lines(label_w, cy, lines, lsize)
        _bar_row(svg, bar, x0, x1, cy, min(row_h * 0.55, 26), BAR, size * 0.92)
    svg.line(x0, top, x0, bottom, INK)
    return svg.render(panel.title)


def _legend(
    svg: Svg, x: float, y: float, items: Sequence[tuple[str, str]], size: float, width: float
) -> float:
    """Swatches left to right, wrapping to another row; returns the height used."""
    cx, cy, used = x, y, size * 1.4
    for label, colour in items:
        w = size + 4 + text_width(label, size) + 14
        if cx > x and cx + w > x + width:
            cx, cy = x, cy + size * 1.5
            used += size * 1.5
        svg.rect(cx, cy - size / 2, size, size, colour)
        svg.text(cx + size + 4, cy, label, size)
        cx += w
    return used


def likert_svg(panel: Panel, width: float, height: float) -> str:
    """A likert grid: each item a 100% bar of its scale points, 分からない after a gap, and
    the share of positive answers at the right."""
    svg = Svg(width, height)
    size = 12.5
    colours = likert_colours(panel.dont_know)
    legend_h = _legend(
        svg, 4, size, list(zip(panel.points, colours, strict=True)), size * 0.9, width - 8
    )
    top, bottom = legend_h + 16, height - 2
    pos_w = text_width("肯定的な回答", size * 0.85) + 8
    label_w = min(width * 0.34, max(text_width(r.label, size) for r in panel.likert) + 8)
    gap = 6 if any(panel.dont_know) else 0
    x0, x1 = label_w + 10, width - pos_w - gap - 6
    svg.text(width - pos_w / 2, top - 8, "肯定的な回答", size * 0.85, MUTED, "middle")
    row_h = (bottom - top) / max(len(panel.likert), 1)
    lsize, wrapped = _fit_labels([r.label for r in panel.likert], label_w, row_h, size)
    bar_h = min(row_h * 0.62, 34)
    for i, (row, lines) in enumerate(zip(panel.likert, wrapped, strict=True)):
        cy = top + (i + 0.5) * row_h
        svg.lines(label_w, cy, lines, lsize)
        if row.suppressed:
            svg.text(x0 + 4, cy, SUPPRESSED, size, MUTED)
            continue
        x = x0
        for j, (pct, colour) in enumerate(zip(row.pcts, colours, strict=True)):
            if pct is None:
                continue
            if panel.dont_know[j] and (j == 0 or not panel.dont_know[j - 1]):
                x += gap
            w = pct / 100 * (x1 - x0)
            svg.rect(x, cy - bar_h / 2, w, bar_h, colour)
            if w >= text_width("100", size * 0.85) + 4:
                ink = "#ffffff" if colour in (LIKERT[0], LIKERT[-1]) else INK
                svg.text(x + w / 2, cy, f"{pct:.0f}", size * 0.85, ink, "middle")
            x += w
        if row.positive_pct is not None:
            svg.text(
                width - pos_w / 2,
                cy,
                pct_label(row.positive_pct),
                size,
                anchor="middle",
                weight="bold",
            )
    svg.line(x0, top - 2, x0, bottom, INK)
    return svg.render(panel.title)


def likert_colours(dont_know: Sequence[bool]) -> list[str]:
    """The scale's points from negative to positive (spread over the palette when the scale
    has other than five points), 分からない in its own tone."""
    k = sum(not d for d in dont_know)
    picks = [LIKERT[round(i * (len(LIKERT) - 1) / max(k - 1, 1))] for i in range(k)]
    it = iter(picks)
    return [DONT_KNOW if d else next(it) for d in dont_know]


def gap_svg(panel: Panel, width: float, height: float) -> str:
    """Slide 14: each support's wish (one survey) beside the effort (the other), with each
    side's interval, and at the right the gap in points with its Newcombe interval."""
    svg = Svg(width, height)
    size = 12.0
    legend = [(panel.series[0], SERIES[0]), (panel.series[1], SERIES[1]), ("差", GAP)]
    legend_h = _legend(svg, 4, size, legend, size * 0.9, width - 8)
    top, bottom = legend_h + 12 + size * 1.4, height - size * 1.6
    rows = panel.gaps
    label_w = width * 0.30
    bx0, bx1 = label_w + 10, width * 0.70
    gx0, gx1 = width * 0.74, width - 8
    row_h = (bottom - top) / max(len(rows), 1)
    lsize, wrapped = _fit_labels([r.label for r in rows], label_w, row_h, size)
    _axis(svg, bx0, bx1 - 44, top, bottom, 0, 100, 20, size)
    reach = max(
        (abs(v) for r in rows for v in (r.gap_low, r.gap_high) if v is not None), default=20
    )
    span = max(20, 20 * -(-reach // 20))
    _axis(svg, gx0, gx1, top, bottom, -span, span, span / 2, size, "")
    zero = (gx0 + gx1) / 2
    svg.text(zero, top - size, f"{panel.gap_label}と95%信頼区間", size * 0.85, MUTED, "middle")
    svg.text((bx0 + bx1 - 44) / 2, top - size, "割合と95%信頼区間", size * 0.85, MUTED, "middle")
    svg.line(zero, top, zero, bottom, INK)
    h = min(row_h * 0.3, 14)
    for i, (row, lines) in enumerate(zip(rows, wrapped, strict=True)):
        cy = top + (i + 0.5) * row_h
        svg.lines(label_w, cy, lines, lsize)
        _bar_row(svg, row.source, bx0, bx1 - 44, cy - h * 0.6, h, SERIES[0], size * 0.85)
        _bar_row(svg, row.target, bx0, bx1 - 44, cy + h * 0.6, h, SERIES[1], size * 0.85)
        if row.gap is None:
            svg.text(zero + 4, cy, SUPPRESSED, size, MUTED)
            continue
        scale = (gx1 - gx0) / (2 * span)
        if row.gap_low is not None and row.gap_high is not None:
            _whisker(svg, zero + row.gap_low * scale, zero + row.gap_high * scale, cy, 4)
        svg.circle(zero + row.gap * scale, cy, 4.5, GAP)
    svg.line(bx0, top, bx0, bottom, INK)
    return svg.render(panel.title)


def panel_svg(panel: Panel, width: float, height: float) -> str:
    if panel.kind == "likert":
        return likert_svg(panel, width, height)
    if panel.kind == "gap":
        return gap_svg(panel, width, height)
    return bars_svg(panel, width, height)
