"""`koryu run` as a user runs it: a subprocess with its own environment and Dagster home."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from koryu_pipeline.instance import write_instance_yaml

ROOT = Path(__file__).resolve().parents[1]
KORYU = [sys.executable, "-m", "koryu_pipeline.cli"]

HIRES_2024_FORM = (
    'extends: hires_2023\nwave: "2024"\n'
    'fielded: {opens: "2024-11-01", closes: "2024-12-20", timezone: Asia/Tokyo}\n'
)


def forms_2024(base: Path) -> Path:
    """A folder of extra form files: the hires form of a 2024 wave (KORYU_CODEBOOK_DIR)."""
    forms = base / "forms"
    forms.mkdir(exist_ok=True)
    (forms / "hires_2024.yaml").write_text(HIRES_2024_FORM, encoding="utf-8")
    return forms


def koryu_env(base: Path, raw: Path, **extra: str) -> dict[str, str]:
    """The environment of a run reading `raw` into `base/wh`, Dagster home `base/dagster_home`
    (SQLite, no telemetry) unless `extra` says otherwise."""
    home = base / "dagster_home"
    home.mkdir(exist_ok=True)
    write_instance_yaml(home)
    env = dict(os.environ)
    for name in ("KORYU_SQL_URL", "KORYU_CODEBOOK_DIR"):
        env.pop(name, None)
    env.update(
        {
            "KORYU_RAW_DIR": str(raw),
            "KORYU_WAREHOUSE_DIR": str(base / "wh"),
            "DAGSTER_HOME": str(home),
            **extra,
        }
    )
    return env


def run_koryu(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`koryu run` (or other arguments); fails the test with its stderr if it fails."""
    proc = subprocess.run(
        [*KORYU, *(args or ("run",))],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc
