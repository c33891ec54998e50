"""Nightly operations, for real: full runs through Dagster in subprocesses, incremental
re-runs (file modification times), a SIGKILL mid-run, and the repair that follows."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.faults import LOCK_FILE
from koryu_pipeline.ingest import cache
from koryu_pipeline.warehouse.tables import table_registry, wave_tables
from koryu_pipeline_tests.exports import base_hires, write_google_csv
from koryu_pipeline_tests.runs import KORYU, ROOT, forms_2024, koryu_env, run_koryu

DEMO_RAW = ROOT / "data" / "raw"

pytestmark = pytest.mark.slow


def _state(wh: Path) -> dict[str, tuple[int, bytes]]:
    """Every warehouse file -> (mtime_ns, bytes); the run lock (which names the run that
    holds it) is not data."""
    return {
        p.relative_to(wh).as_posix(): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(wh.rglob("*"))
        if p.is_file() and p.name != LOCK_FILE
    }


def _copy_raw(tmp: Path) -> Path:
    raw = tmp / "raw"
    shutil.copytree(DEMO_RAW, raw)
    return raw


def test_unchanged_rerun_rewrites_nothing(tmp_path: Path) -> None:
    raw = _copy_raw(tmp_path)
    env = koryu_env(tmp_path, raw)
    run_koryu(env)
    wh = tmp_path / "wh"
    before = _state(wh)
    assert any(k.endswith("koryu.sqlite") for k in before)
    assert sum(k.endswith(".parquet") for k in before) > 40
    run_koryu(env)
    after = _state(wh)
    assert after == before  # same files, same bytes, same modification times (SQLite too)


def test_changed_export_rewrites_only_its_wave_and_downstream(tmp_path: Path) -> None:
    raw = _copy_raw(tmp_path)
    # a second wave, read by a form that extends 2023 with its own fielding window
    forms = forms_2024(tmp_path)
    rows = [base_hires(タイムスタンプ=f"2024/11/20 10:00:{n:02d}") for n in range(6)]
    write_google_csv(raw / "hires/2024/export.csv", rows)
    env = koryu_env(tmp_path, raw, KORYU_CODEBOOK_DIR=str(forms))
    run_koryu(env)
    wh = tmp_path / "wh"
    before = _state(wh)
    assert "facts/answers/instrument=hires/wave=2024/part-0.parquet" in before
    # with two waves the wave-on-wave comparison fills: hires 2024 beside 2023, by option
    waves = pq.read_table(wh / "marts/comparisons/waves").to_pandas()
    wishes = waves[waves["question_id"] == "support_wishes"]
    assert set(zip(wishes["wave"], wishes["previous_wave"], strict=True)) == {(2024, 2023)}
    assert len(wishes) == 12 and (wishes["base_n"] == 6).all()
    assert (wishes["previous_base_n"] == 552).all()
    first = wishes[wishes["option_code"] == 1].iloc[0]
    assert first["pct"] == 100.0  # all six 2024 hires chose the first wish (base_hires)
    assert abs(first["diff_pct_points"] - (100.0 - first["previous_pct"])) < 1e-9

    time.sleep(0.05)
    write_google_csv(
        raw / "hires/2024/export.csv",
        [*rows, base_hires(age_band="40代", タイムスタンプ="2024/11/21 09:00:00")],
    )
    run_koryu(env)
    after = _state(wh)
    rewritten = {k for k in after if after[k] != before.get(k)}
    facts = {k for k in rewritten if k.startswith(("facts/", "quarantine/")) and "=" in k}
    assert facts and all("wave=2024" in k for k in facts), facts
    # each table's single file holds every wave, so it follows any wave's change
    assert {"facts/answers.parquet", "quarantine/files.parquet"} <= rewritten
    assert all("wave=2023" not in k for k in rewritten)
    assert "marts/questions/hires/support_wishes/part-0.parquet" in rewritten
    # a ministry question's table does not depend on the hires export: untouched
    assert "marts/questions/ministry/q04/part-0.parquet" not in rewritten


def _readable(wh: Path) -> dict[str, int]:
    out = {}
    for p in sorted(wh.rglob("*.parquet")):
        out[p.relative_to(wh).as_posix()] = pq.read_table(p).num_rows
    return out


def test_killed_run_leaves_previous_warehouse_readable_and_next_run_repairs(
    tmp_path: Path,
) -> None:
    raw = _copy_raw(tmp_path)
    env = koryu_env(tmp_path, raw)
    run_koryu(env)
    wh = tmp_path / "wh"
    tables_before = _readable(wh)

    # change every input of the hires wave so the next run rewrites many files, then kill
    # the run (and its step subprocesses) as soon as it has started rewriting
    extra = [base_hires(タイムスタンプ=f"2023/12/01 09:00:{n:02d}") for n in range(30)]
    write_google_csv(raw / "hires/2023/late_batch.csv", extra)
    mtimes = {p: p.stat().st_mtime_ns for p in wh.rglob("*.parquet")}
    proc = subprocess.Popen(
        [*KORYU, "run"],
        env=env,
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if any(p.stat().st_mtime_ns != m for p, m in mtimes.items() if p.exists()):
            break
        time.sleep(0.005)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)

    # every table is still there and every file reads back whole (old or new content); the
    # per-file cache may have gained the new export's entry, which reads whole too
    after_kill = _readable(wh)
    kept = (cache.CACHE_DIR + "/",)
    assert {t for t in after_kill if not t.startswith(kept)} == {
        t for t in tables_before if not t.startswith(kept)
    }
    flat = {f"{s.key}.parquet" for s in wave_tables(table_registry(get_codebook()))}
    stray = [
        p
        for p in wh.rglob("*.parquet")
        if p.name != "part-0.parquet" and not p.relative_to(wh).as_posix().startswith(kept)
    ]
    assert {p.relative_to(wh).as_posix() for p in stray} == flat  # no half-written file

    # the next run repairs: the warehouse equals a clean run's on the same input
    run_koryu(env)
    clean = tmp_path / "clean"
    clean.mkdir()
    run_koryu(koryu_env(clean, raw))
    repaired = {k: v[1] for k, v in _state(wh).items() if k.endswith(".parquet")}
    fresh = {k: v[1] for k, v in _state(clean / "wh").items() if k.endswith(".parquet")}
    assert repaired == fresh
    assert not list(wh.rglob("*.tmp"))
