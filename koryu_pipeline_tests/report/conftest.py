"""The demo's marts, built once per session by the pipeline's own plain functions (ingest each
wave of data/raw into a temporary warehouse, read the facts back, build every mart), and the
report built from them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from koryu_pipeline.codebook import Codebook, get_codebook
from koryu_pipeline.ingest.wave import ingest_wave
from koryu_pipeline.marts.build import build_marts
from koryu_pipeline.report import build_report
from koryu_pipeline.report.slides import Report, build_model
from koryu_pipeline.settings import Settings
from koryu_pipeline.warehouse.parquet import write_wave
from koryu_pipeline.warehouse.read import read_facts
from koryu_pipeline_tests.runs import ROOT

RAW = ROOT / "data" / "raw"


@pytest.fixture(scope="session")
def codebook() -> Codebook:
    return get_codebook()


@pytest.fixture(scope="session")
def demo_marts(
    codebook: Codebook, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, pd.DataFrame]:
    """Every mart of the demo, key -> frame, as build_marts returns them (not read back)."""
    warehouse = tmp_path_factory.mktemp("report_wh")
    waves = sorted({p.name for p in RAW.glob("*/*") if p.is_dir()})
    for wave in waves:
        facts = ingest_wave(codebook, RAW, wave)
        write_wave(codebook, warehouse, wave, facts.tables)
    marts = build_marts(codebook, *read_facts(codebook, warehouse), Settings().suppress_below)
    return {key: frame for key, (frame, _schema) in marts.items()}


@pytest.fixture(scope="session")
def demo_model(codebook: Codebook, demo_marts: dict[str, pd.DataFrame]) -> Report:
    return build_model(codebook, demo_marts)


@pytest.fixture(scope="session")
def demo_report(
    codebook: Codebook,
    demo_marts: dict[str, pd.DataFrame],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Path]:
    """The three files, built once; read-only for the tests."""
    return build_report(codebook, demo_marts, tmp_path_factory.mktemp("report") / "report")
