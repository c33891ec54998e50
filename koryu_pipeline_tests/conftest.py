from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster._core.storage.defs_state.base import set_defs_state_storage

from koryu_pipeline_tests.postgres import postgres_cluster
from koryu_pipeline_tests.runs import ROOT, koryu_env, run_koryu


@pytest.fixture(autouse=True)
def _no_stale_dagster_instance_state() -> Iterator[None]:
    """Dagster keeps the current instance's state storage in a context variable; a sensor
    context released after its test's instance can put a closed instance's storage back,
    and the next in-process Definitions load (build_defs) would then read from it. Each
    test starts with none, as a fresh process does."""
    with set_defs_state_storage(None):
        yield


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """host/port/user/db of a throw-away PostgreSQL cluster on a loopback port."""
    with postgres_cluster(tmp_path_factory.mktemp("pg")) as pg:
        yield pg


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`koryu run` on the bundled demo exports, once per session, into a temporary
    warehouse (SQLite copy inside it, Dagster home beside it). Read-only for tests."""
    base = tmp_path_factory.mktemp("demo")
    proc = run_koryu(koryu_env(base, ROOT / "data" / "raw"))
    (base / "stdout.txt").write_text(proc.stdout)
    return base / "wh"
