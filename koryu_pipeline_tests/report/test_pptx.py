"""The deck read back with python-pptx: a cover and 17 findings, titles and headlines as text,
one native chart per question of the slide whose series are the marts' figures."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from pptx import Presentation
from pptx.chart.chart import Chart
from pptx.slide import Slide

from koryu_pipeline.report.slides import Report


def _charts(slide: Slide) -> list[Chart]:
    return [shape.chart for shape in slide.shapes if shape.has_chart]


def _texts(slide: Slide) -> str:
    return "".join(s.text_frame.text for s in slide.shapes if s.has_text_frame).replace("\n", "")


def _question(marts: dict[str, pd.DataFrame], key: str) -> pd.DataFrame:
    frame = marts[key]
    return frame[frame["wave"].astype(str) == "2023"]


def _same(got: tuple, expected: list) -> None:
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert (g is None and pd.isna(e)) or g == pytest.approx(float(e), abs=1e-9)


def test_cover_and_seventeen_findings(demo_report: dict[str, Path], demo_model: Report) -> None:
    deck = Presentation(str(demo_report["pptx"]))
    slides = list(deck.slides)
    assert len(slides) == 18
    assert not _charts(slides[0])
    cover = _texts(slides[0])
    assert demo_model.title in cover and "４９組織" in cover and "５５２人" in cover
    assert "令和５年１１月８日～令和５年１２月２１日" in cover and "目次" in cover
    for slide, finding in zip(slides[1:], demo_model.slides, strict=True):
        assert slide.shapes.title.text_frame.text.endswith(finding.title)
        assert finding.headline and finding.headline in _texts(slide)
        charts = _charts(slide)
        assert len(charts) == len(finding.panels) >= 1, finding.number


def test_chart_series_equal_the_marts(
    demo_report: dict[str, Path], demo_model: Report, demo_marts: dict[str, pd.DataFrame]
) -> None:
    deck = Presentation(str(demo_report["pptx"]))
    checked = 0
    for slide, finding in zip(list(deck.slides)[1:], demo_model.slides, strict=True):
        for chart, panel in zip(_charts(slide), finding.panels, strict=True):
            plot = chart.plots[0]
            if panel.kind == "gap":
                gap = _question(demo_marts, panel.key).sort_values("hires_rank", kind="stable")
                assert list(plot.categories) == list(gap["hires_option_label"])
                hires, ministry = plot.series
                _same(hires.values, list(gap["hires_pct"]))
                _same(ministry.values, list(gap["ministry_pct"]))
            elif panel.kind == "likert":
                frame = _question(demo_marts, panel.key).sort_values(["item_sort", "option_sort"])
                items = list(dict.fromkeys(frame["item_label"]))
                assert list(plot.categories) == items
                names = [s.name for s in plot.series]
                assert names[-1] == "分からない" if "分からない" in names else True
                for series in plot.series:
                    rows = frame[frame["option_label"] == series.name]
                    _same(series.values, list(rows["pct"]))
            else:
                frame = _question(demo_marts, panel.key).sort_values("option_sort")
                assert list(plot.categories) == list(frame["option_label"])
                (series,) = plot.series
                _same(series.values, list(frame["pct"]))
            checked += 1
    assert checked == 21  # 17 slides, four of which show two questions


def test_chart_types_and_labels(demo_report: dict[str, Path]) -> None:
    deck = Presentation(str(demo_report["pptx"]))
    slides = list(deck.slides)
    likert = _charts(slides[1])[0]
    assert likert.chart_type.name == "BAR_STACKED_100"
    bars = _charts(slides[4])[0]
    assert bars.chart_type.name == "BAR_CLUSTERED"
    assert bars.category_axis.reverse_order  # first option at the top, as in the form
    labels = bars.plots[0].data_labels
    assert labels.number_format == "0.0" and labels.show_value
