"""Faults that stop a run end with one line naming the cause and the fix; bad data and
damage never stop it or leave stale data behind (issue: nobody watches at 02:00)."""

from __future__ import annotations

import fcntl
import filecmp
import shutil
import subprocess
from pathlib import Path

import pytest

from koryu_pipeline.faults import Cause, WarehouseLock, explain, fix_for, root_cause
from koryu_pipeline_tests.runs import KORYU, ROOT, koryu_env, run_koryu

DEMO = ROOT / "data" / "raw"


def _koryu(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*KORYU, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def _last_line(proc: subprocess.CompletedProcess[str]) -> str:
    return proc.stderr.strip().splitlines()[-1]


# --------------------------------------------------------------------------- plain functions


def test_root_cause_follows_the_chain_and_names_a_fix() -> None:
    try:
        try:
            raise OSError(28, "No space left on device")
        except OSError as inner:
            raise RuntimeError("Error occurred while executing op") from inner
    except RuntimeError as outer:
        cause = root_cause(outer)
    assert cause == Cause("OSError", "[Errno 28] No space left on device")
    assert "free disk space" in fix_for(cause)
    line = explain(cause, "step build_marts")
    assert line.startswith("failed in step build_marts: OSError:") and "fix:" in line


def test_every_cause_gets_a_fix() -> None:
    assert "KORYU_SQL_URL" in fix_for(Cause("OperationalError", "Connection refused"))
    assert "writable" in fix_for(Cause("PermissionError", "Permission denied: /wh"))
    assert "make ui" in fix_for(Cause("KeyError", "x"))


def test_lock_refuses_a_second_holder(tmp_path: Path) -> None:
    with (
        WarehouseLock(tmp_path),
        pytest.raises(Exception, match="another koryu run"),
        WarehouseLock(tmp_path),
    ):
        pass
    with WarehouseLock(tmp_path):  # released: free again
        pass


# --------------------------------------------------------------------------- the command


@pytest.mark.slow
@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"KORYU_SUPPRESS_BELOW": "abc"}, "KORYU_SUPPRESS_BELOW='abc'"),
        ({"KORYU_SUPPRESS_BELOW": "0"}, "at least 1"),
        ({"DAGSTER_HOME": "relative/home"}, "must be an absolute path"),
    ],
)
def test_bad_settings_say_so_before_any_work(
    tmp_path: Path, extra: dict[str, str], expected: str
) -> None:
    proc = _koryu(koryu_env(tmp_path, DEMO, **extra), "run")
    assert proc.returncode == 1
    assert expected in _last_line(proc)
    assert not (tmp_path / "wh" / "facts").exists()


@pytest.mark.slow
def test_broken_dagster_home(tmp_path: Path) -> None:
    afile = tmp_path / "home_is_a_file"
    afile.write_text("")
    proc = _koryu(koryu_env(tmp_path, DEMO, DAGSTER_HOME=str(afile)), "run")
    assert "is a file" in _last_line(proc) and proc.returncode == 1
    env = koryu_env(tmp_path, DEMO)
    (Path(env["DAGSTER_HOME"]) / "dagster.yaml").write_text("run_storage: [\n")
    proc = _koryu(env, "run")
    assert proc.returncode == 1
    assert "dagster.yaml cannot be read" in _last_line(proc) and "fix:" in _last_line(proc)


@pytest.mark.slow
def test_second_run_is_refused_clearly(tmp_path: Path) -> None:
    env = koryu_env(tmp_path, DEMO)
    (tmp_path / "wh").mkdir()
    with (tmp_path / "wh" / ".koryu.lock").open("a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        proc = _koryu(env, "run")
    assert proc.returncode == 1
    assert "another koryu run is writing" in _last_line(proc)


@pytest.mark.slow
def test_sql_server_down_names_it_and_the_next_run_finishes(tmp_path: Path) -> None:
    down = "postgresql+psycopg2://koryu:secret@127.0.0.1:1/koryu"
    proc = _koryu(koryu_env(tmp_path, DEMO, KORYU_SQL_URL=down), "run")
    assert proc.returncode == 1
    last = _last_line(proc)
    assert "step build_marts" in last and "Connection refused" in last
    assert "KORYU_SQL_URL" in last and "secret" not in last
    # the same target, reachable again (here: SQLite): the next plain run finishes the job
    run_koryu(koryu_env(tmp_path, DEMO))
    assert (tmp_path / "wh" / "koryu.sqlite").exists()


@pytest.mark.slow
def test_bad_wave_folders_are_set_aside_and_the_rest_is_built(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(DEMO, raw)
    export = raw / "hires/2023/hires_2023_responses_20231222.csv"
    for folder in ("2023_test", "2031"):  # not a year; a year without a form
        (raw / "hires" / folder).mkdir()
        shutil.copy(export, raw / "hires" / folder / "copy.csv")
    proc = run_koryu(koryu_env(tmp_path, raw))
    assert "hires/2023: 552 accepted" in proc.stdout
    assert "set aside: hires/2023_test (1 file) is not named for a survey year" in proc.stdout
    assert "rename the folder" in proc.stdout
    assert "add koryu_pipeline/codebook/forms/hires_2031.yaml" in proc.stdout
    assert (tmp_path / "wh" / "marts" / "headlines" / "part-0.parquet").exists()
    assert (tmp_path / "wh" / "koryu.sqlite").exists()


def _parquet_and_report(wh: Path) -> list[str]:
    return sorted(
        p.relative_to(wh).as_posix()
        for p in wh.rglob("*")
        if p.is_file() and p.suffix in (".parquet", ".html", ".pptx", ".xlsx")
    )


@pytest.mark.slow
def test_damage_and_removals_are_repaired_by_the_next_plain_run(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(DEMO, raw)
    (tmp_path / "a").mkdir()
    env = koryu_env(tmp_path / "a", raw)
    run_koryu(env)
    wh = tmp_path / "a" / "wh"
    shutil.rmtree(wh / "facts" / "answers")
    (wh / "koryu.sqlite").unlink()
    mart = wh / "marts" / "question_results" / "part-0.parquet"
    mart.write_bytes(mart.read_bytes()[:100])
    (wh / "report" / "koryu_results_2023.pptx").unlink()
    shutil.rmtree(raw / "hires")  # an instrument leaves the raw folder
    proc = run_koryu(env)
    assert "everything up to date" not in proc.stdout
    # the summary lists no hires file and no hires count any more
    assert not [line for line in proc.stdout.splitlines() if line.startswith("hires/")]
    assert "up to date" in run_koryu(env).stdout  # and now it is

    (tmp_path / "b").mkdir()
    run_koryu(koryu_env(tmp_path / "b", raw))  # a clean run on the same raw folder
    clean = tmp_path / "b" / "wh"
    assert _parquet_and_report(wh) == _parquet_and_report(clean)
    for name in _parquet_and_report(clean):
        assert filecmp.cmp(wh / name, clean / name, shallow=False), name
    assert not list((wh / "facts" / "respondents").glob("instrument=hires"))
