"""The report's text measure: `wrap` keeps a running width, and breaks exactly where
measuring each candidate line whole with `text_width` would."""

from __future__ import annotations

import random

import pytest

from koryu_pipeline.report.fonts import _cut, text_width, wrap


def _wrap_by_definition(text: str, width: float, size: float) -> list[str]:
    lines: list[str] = []
    line = ""
    for ch in text:
        if line and text_width(line + ch, size) > width:
            cut = _cut(line, ch)
            lines.append(line[:cut])
            line = line[cut:]
        line += ch
    if line:
        lines.append(line)
    return lines


@pytest.mark.parametrize("seed", range(5))
def test_wrap_breaks_where_whole_lines_would(seed: int) -> None:
    rng = random.Random(seed)
    pieces = [
        "官民人事交流",
        "の",
        "、",
        "。",
        "「",
        "」",
        "（",
        "）",
        "Excel",
        " ",
        "2023",
        "％",
        "\U0001f600",
    ]
    for _ in range(300):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        width, size = rng.uniform(10, 400), rng.choice([9, 10.5, 12, 14, 16])
        lines = wrap(text, width, size)
        assert lines == _wrap_by_definition(text, width, size)
        assert "".join(lines) == text
