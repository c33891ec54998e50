"""The Dagster UI as a person sees it: dagster-webserver on the demo warehouse's Dagster home,
opened in Debian's Chromium (headless, driven by Playwright; Playwright's own browser
download is never used). Column descriptions, the marts -> headlines lineage and the full
headlines must be on the pages, and the launch dialog must not create a wave from a typo.

Screenshots go to the test's temporary folder, or to KORYU_SCREENSHOTS when it is set."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.instance import write_instance_yaml
from koryu_pipeline.warehouse.tables import ANSWERS, HEADLINES, table_registry
from koryu_pipeline_tests.browser import CHROMIUM, CHROMIUM_ARGS
from koryu_pipeline_tests.runs import ROOT
from koryu_pipeline_tests.webserver import post, webserver

pytestmark = pytest.mark.slow


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("KORYU_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def ui(demo_warehouse: Path, tmp_path: Path) -> Iterator[str]:
    """The webserver on a copy of the demo run's Dagster home (the fixture is shared)."""
    home = tmp_path / "dagster_home"
    shutil.copytree(demo_warehouse.parent / "dagster_home", home)
    write_instance_yaml(home)  # as `koryu run` would: the copy's event log, not the original's
    assert str(home) in (home / "dagster.yaml").read_text(encoding="utf-8")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "KORYU_RAW_DIR": str(ROOT / "data" / "raw"),
        "KORYU_WAREHOUSE_DIR": str(demo_warehouse),
    }
    env.pop("KORYU_SQL_URL", None)
    with webserver(env) as base:
        # Dagster's first-visit newsletter dialog would cover the page a second after load
        post(f"{base}/graphql", "mutation { setNuxSeen }")
        yield base


@pytest.fixture
def page(ui: str):
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed (apt-get install chromium; .ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        tab = browser.new_page(viewport={"width": 1600, "height": 1400})
        tab.set_default_timeout(60_000)
        yield tab
        browser.close()


def _open(page, url: str) -> None:
    page.goto(url, wait_until="networkidle")
    page.get_by_text("Columns", exact=True).first.wait_for()


def _flat(text: str) -> str:
    """Page text without the line breaks and spaces a narrow cell wraps on."""
    return "".join(text.split())


def test_asset_pages_show_descriptions_lineage_and_full_headlines(
    page, ui: str, demo_warehouse: Path, shots: Path
) -> None:
    registry = table_registry(get_codebook())

    # a fact table: every column's description, from the registry's catalogue
    _open(page, f"{ui}/assets/{ANSWERS}")
    page.screenshot(path=shots / "facts_answers.png", full_page=True)
    text = _flat(page.inner_text("body"))
    assert f"<warehouse>/{ANSWERS}/instrument=" in text  # the description, as written
    for column in registry[ANSWERS].columns:
        assert column.description and _flat(column.description) in text, column.name

    # the headlines: their columns described, read from the question marts and support_gap
    _open(page, f"{ui}/assets/{HEADLINES}")
    page.screenshot(path=shots / "headlines.png", full_page=True)
    text = _flat(page.inner_text("body"))
    for column in registry[HEADLINES].columns:
        assert _flat(column.description) in text, column.name
    upstream = page.inner_text("body").split("Upstream assets", 1)[1]
    assert "marts / comparisons / support_gap" in upstream
    assert "marts / questions / ministry / q01" in upstream

    # every headline in full, not the preview's 40 characters
    page.get_by_text("[Show Markdown]").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Wave 2023").wait_for()
    page.screenshot(path=shots / "headlines_markdown.png")
    shown = _flat(dialog.inner_text())
    written = pq.read_table(demo_warehouse / HEADLINES).to_pandas()
    assert len(written) == 17
    for row in written.itertuples(index=False):
        assert _flat(row.headline) in shown, row.slide
    page.keyboard.press("Escape")

    # the lineage graph around the headlines renders
    page.goto(f"{ui}/assets/{HEADLINES}?view=lineage", wait_until="networkidle")
    page.wait_for_timeout(2000)
    page.screenshot(path=shots / "headlines_lineage.png")


def test_launch_dialog_offers_the_raw_folders_waves_only(page, ui: str, shots: Path) -> None:
    _open(page, f"{ui}/assets/{ANSWERS}")
    page.get_by_role("button", name="Materialize").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Partition selection").wait_for()
    dialog.get_by_text("Select a partition").click()
    menu = page.get_by_text("Select all (1)")
    menu.wait_for()
    assert page.get_by_text("2023", exact=True).count() >= 1
    page.keyboard.type("2099")  # a typo'd wave: nothing to pick, nothing to create
    page.get_by_text("No matching partitions found").wait_for()
    page.screenshot(path=shots / "launch_dialog_typo.png")
