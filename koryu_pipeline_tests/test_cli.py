"""The `koryu` command as a user meets it: exit codes and messages."""

from __future__ import annotations

import filecmp
import subprocess
from pathlib import Path

import pytest

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
