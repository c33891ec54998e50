"""The HTML as a person sees it: Debian's Chromium, driven by Playwright, one screenshot per
slide. Nothing blank, every chart visible, no text outside its slide, and every glyph drawn
from the embedded font (Chromium's own account of the fonts it used, over CDP)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, sync_playwright

from koryu_pipeline.report.fonts import FAMILY
from koryu_pipeline_tests.browser import CHROMIUM, CHROMIUM_ARGS

# every element that holds text of its own
TEXT = "h1, h2, h3, h4, p, dt, dd, li, a, b, span, figcaption, footer, svg text, div.wave"

_OUTSIDE = """slide => {
  const r = slide.getBoundingClientRect();
  return [...slide.querySelectorAll('*')]
    .filter(e => e.getClientRects().length)
    .filter(e => { const b = e.getBoundingClientRect();
      return b.left < r.left - 0.5 || b.right > r.right + 0.5 ||
             b.top < r.top - 0.5 || b.bottom > r.bottom + 0.5; })
    .map(e => e.tagName + ': ' + (e.textContent || '').slice(0, 40));
}"""


def _not_blank(png: Path) -> None:
    img = Image.open(png).convert("L")
    ink = sum(img.histogram()[:200])
    assert ink / (img.width * img.height) > 0.01, f"{png.name} is (nearly) blank"
    assert len(img.getcolors(maxcolors=1 << 16) or range(1 << 16)) > 8, png.name


def _fonts_used(page: Page) -> dict[str, set[str]]:
    """family -> the texts Chromium drew with it, for every text-holding element."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    nodes = cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": TEXT})["nodeIds"]
    used: dict[str, set[str]] = {}
    for node in nodes:
        for font in cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]:
            key = font["familyName"] + ("" if font["isCustomFont"] else " (system)")
            used.setdefault(key, set()).add(str(node))
    return used


def test_every_slide_in_chromium(demo_report: dict[str, Path], tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium); "
            ".ci/run installs it"
        )
    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            page.goto(demo_report["html"].as_uri())
            page.evaluate("document.fonts.ready.then(() => null)")
            faces = page.evaluate("[...document.fonts].map(f => [f.family, f.status])")
            assert [(f.strip('"'), s) for f, s in faces] == [(FAMILY, "loaded")]
            assert page.evaluate(f"document.fonts.check('16px \"{FAMILY}\"', '官民人事交流')")
            assert _fonts_used(page).keys() == {"IPAexGothic"}, _fonts_used(page)
            slides = page.query_selector_all("section.slide")
            assert len(slides) == 18
            for i, slide in enumerate(slides):
                png = tmp_path / f"slide_{i:02d}.png"
                slide.screenshot(path=str(png))
                _not_blank(png)
                box = slide.bounding_box()
                assert box and abs(box["width"] / box["height"] - 297 / 210) < 0.01
                fits = slide.evaluate(
                    "s => s.scrollWidth <= s.clientWidth && s.scrollHeight <= s.clientHeight"
                )
                assert fits, f"slide {i} overflows"
                assert slide.evaluate(_OUTSIDE) == [], f"slide {i}: text outside the slide"
                charts = slide.query_selector_all("svg.chart")
                assert i == 0 or charts, f"slide {i} has no chart"
                for chart in charts:
                    b = chart.bounding_box()
                    assert b and b["width"] > 200 and b["height"] > 120, (i, b)
                    assert chart.evaluate(_OUTSIDE) == [], f"slide {i}: chart text outside"
            # print: one slide per A4-landscape page (842 x 595 pt)
            pdf = page.pdf(prefer_css_page_size=True, print_background=True)
            assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 18
            boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)", pdf)
            assert boxes and all(
                abs(float(w) - 841.9) < 1 and abs(float(h) - 595.3) < 1 for w, h in boxes
            ), set(boxes)
        finally:
            browser.close()
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
