from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from koryu_pipeline_tests.postgres import postgres_cluster


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """host/port/user/db of a throw-away PostgreSQL cluster on a loopback port."""
    with postgres_cluster(tmp_path_factory.mktemp("pg")) as pg:
        yield pg


ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`koryu run` on the bundled demo exports, once per session, into a temporary
    warehouse (SQLite copy inside it, Dagster home beside it). Read-only for tests."""
    base = tmp_path_factory.mktemp("demo")
    home = base / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = dict(os.environ)
    env.update(
        KORYU_RAW_DIR=str(ROOT / "data" / "raw"),
        KORYU_WAREHOUSE_DIR=str(base / "wh"),
        DAGSTER_HOME=str(home),
    )
    env.pop("KORYU_SQL_URL", None)
    env.pop("KORYU_CODEBOOK_DIR", None)
    proc = subprocess.run(
        [sys.executable, "-m", "koryu_pipeline.cli", "run"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    (base / "stdout.txt").write_text(proc.stdout)
    return base / "wh"
