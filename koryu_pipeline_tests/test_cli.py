"""The `koryu` command as a user meets it: exit codes and messages."""

from __future__ import annotations

import filecmp
import subprocess
from pathlib import Path

import pytest

from koryu_pipeline.instance import instance_yaml
from koryu_pipeline_tests.exports import base_ministry, write_msforms_xlsx
from koryu_pipeline_tests.runs import KORYU, ROOT, koryu_env, run_koryu

pytestmark = pytest.mark.slow


def _koryu(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*KORYU, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def test_no_exports_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "raw").mkdir()
    proc = _koryu(koryu_env(tmp_path, tmp_path / "raw"), "run")
    assert proc.returncode == 1
    assert "no exports found" in proc.stderr
    assert str(tmp_path / "raw") in proc.stderr


def test_a_failing_step_exits_1_naming_the_step(tmp_path: Path) -> None:
    write_msforms_xlsx(tmp_path / "raw/ministry/2023/a.xlsx", [base_ministry()])
    (tmp_path / "wh").mkdir()
    (tmp_path / "wh" / "facts").write_text("a file where a table folder should be")
    proc = _koryu(koryu_env(tmp_path, tmp_path / "raw"), "run")
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert "failed" in last and "step ingest_wave" in last and "fix:" in last


def test_a_broken_form_file_is_named(tmp_path: Path) -> None:
    write_msforms_xlsx(tmp_path / "raw/ministry/2023/a.xlsx", [base_ministry()])
    forms = tmp_path / "forms"
    forms.mkdir()
    (forms / "ministry_2024.yaml").write_text(
        'extends: ministry_2023\nwave: "2024"\n'
        'fielded: {opens: "2024-12-01", closes: "2024-11-01"}\n',
        encoding="utf-8",
    )
    env = koryu_env(tmp_path, tmp_path / "raw", KORYU_CODEBOOK_DIR=str(forms))
    proc = _koryu(env, "run")
    assert proc.returncode == 1
    assert "ministry_2024.yaml" in proc.stderr and "opens after it closes" in proc.stderr


def test_up_to_date_then_force(tmp_path: Path) -> None:
    write_msforms_xlsx(tmp_path / "raw/ministry/2023/a.xlsx", [base_ministry()])
    env = koryu_env(tmp_path, tmp_path / "raw")
    first = run_koryu(env)
    assert "ministry/2023/a.xlsx" in first.stdout and "runs: none" not in first.stdout
    second = run_koryu(env)
    assert "runs: none: everything up to date" in second.stdout
    assert "ministry/2023: 1 accepted" in second.stdout  # the summary is still printed
    forced = run_koryu(env, "run", "--force")
    assert "runs: none" not in forced.stdout


def test_demo_data_rewrites_the_committed_exports(tmp_path: Path) -> None:
    out = tmp_path / "raw"
    run_koryu(koryu_env(tmp_path, out), "demo-data", "--raw-dir", str(out))
    committed = sorted(p.relative_to(ROOT / "data/raw") for p in (ROOT / "data/raw").rglob("*.*"))
    written = sorted(p.relative_to(out) for p in out.rglob("*.*"))
    assert written == committed
    for rel in committed:
        assert filecmp.cmp(ROOT / "data/raw" / rel, out / rel, shallow=False), rel


def _lines(text: str, start: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(start)]


def test_status_dry_run_and_summary_before_and_after_a_changed_export(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    first = [base_ministry(org_name="甲省"), base_ministry(org_name="乙省")]
    # an early partial export holding the first response again, and a file nobody can read
    write_msforms_xlsx(raw / "ministry/2023/a_partial.xlsx", first[:1])
    write_msforms_xlsx(raw / "ministry/2023/b_final.xlsx", first)
    (raw / "ministry/2023/c_broken.xlsx").write_bytes(b"not a workbook")
    env = koryu_env(tmp_path, raw)

    before = _koryu(env, "status")
    assert before.returncode == 0, before.stderr
    assert "wave 2023: 3 files; never run" in before.stdout
    assert "ministry: 3 files, not read yet" in before.stdout
    dry = _koryu(env, "run", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "wave 2023: to run (never run)" in dry.stdout
    assert "1 Dagster run: wave 2023 + marts + SQL copy" in dry.stdout
    assert "nothing was run" in dry.stdout and not (tmp_path / "wh").exists()

    ran = run_koryu(env)
    # progress while it works through the files, then the summary
    assert _lines(ran.stdout, "  wave 2023: file ") == [
        "  wave 2023: file 1 of 3: ministry/2023/a_partial.xlsx: 1 rows read",
        "  wave 2023: file 2 of 3: ministry/2023/b_final.xlsx: 2 rows read",
        "  wave 2023: file 3 of 3: ministry/2023/c_broken.xlsx: unreadable "
        "(not a readable .xlsx workbook (File is not a zip file))",
    ]
    assert "ministry/2023: 2 accepted, 1 counted once (duplicate of another export), " in ran.stdout
    assert "0 rejected of 3 rows; 1 unreadable file" in ran.stdout
    [broken] = _lines(ran.stdout, "ministry/2023/c_broken.xlsx")
    assert broken.split()[1:5] == ["-", "-", "-", "-"] and "unreadable: not a readable" in broken
    [partial] = _lines(ran.stdout, "ministry/2023/a_partial.xlsx")
    assert partial.split()[1:5] == ["1", "0", "1", "0"]  # rows, accepted, counted once, rejected

    after = _koryu(env, "status").stdout
    assert "  up to date" in after and "last run " in after and "never run" not in after
    assert "ministry: 3 files; at its last run 2 accepted, 1 set aside, of which 1 " in after
    assert "1 unreadable" in after
    assert "nothing to run" in _koryu(env, "run", "--dry-run").stdout

    # the final export is re-exported with one more response
    write_msforms_xlsx(raw / "ministry/2023/b_final.xlsx", [*first, base_ministry(org_name="丙省")])
    changed = _koryu(env, "status").stdout
    assert "  to run: export ministry/2023/b_final.xlsx changed" in changed
    assert "  to run: after wave 2023" in changed
    dry = _koryu(env, "run", "--dry-run").stdout
    assert "wave 2023: to run (export ministry/2023/b_final.xlsx changed)" in dry
    assert "marts and SQL copy: to run (after wave 2023)" in dry

    again = run_koryu(env)
    assert "ministry/2023: 3 accepted, 1 counted once" in again.stdout
    assert "  up to date" in _koryu(env, "status").stdout


def test_the_default_dagster_home_gets_koryus_instance_settings(tmp_path: Path) -> None:
    """Without DAGSTER_HOME, `koryu` keeps Dagster's state in ./.dagster and writes its
    dagster.yaml there (koryu_pipeline/instance.py); a run's events land in that home."""
    env = koryu_env(tmp_path, ROOT / "data" / "raw")
    env.pop("DAGSTER_HOME")
    env["PYTHONPATH"] = str(ROOT)
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.run(
        [*KORYU, "run"], env=env, cwd=work, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    home = work / ".dagster"
    assert (home / "dagster.yaml").read_text(encoding="utf-8") == instance_yaml(home)
    runs = home / "history" / "runs"
    assert (runs / "index.db").exists()
    # the run's own database, complete: the kept connections were closed at the end
    assert len(list(runs.glob("*-*.db"))) == 1 and not list(runs.glob("*.db-wal"))
