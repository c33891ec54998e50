"""The README's recipes, run as written: its ```sql blocks in DuckDB, its ```python blocks
in this interpreter, from a folder holding `data/warehouse` (the demo warehouse), each
checked against figures known independently (the demo's calibration, the marts' files);
its status commands against the demo run; and its production recipe with a throw-away
PostgreSQL server, temporary folders and a free port in place of the example values."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from koryu_pipeline.demo.calibration import EXPECTED_ACCEPTED, EXPECTED_FILES
from koryu_pipeline_tests.postgres import sqlalchemy_url
from koryu_pipeline_tests.runs import ROOT
from koryu_pipeline_tests.webserver import free_port, post

README = ROOT / "README.md"
ACCEPTED = {(instrument, "2023"): n for instrument, n in EXPECTED_ACCEPTED.items()}


def blocks(language: str) -> list[str]:
    """The README's fenced blocks tagged `language`, dedented to their fence."""
    out: list[str] = []
    lines = README.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = re.match(r"^(\s*)```(\S*)\s*$", lines[i])
        if not opening:
            i += 1
            continue
        indent, tag = opening.groups()
        body: list[str] = []
        i += 1
        while not re.match(rf"^{indent}```\s*$", lines[i]):
            body.append(lines[i][len(indent) :])
            i += 1
        i += 1
        if tag == language:
            out.append("\n".join(body) + "\n")
    return out


@pytest.fixture
def workdir(demo_warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder holding `data/warehouse` (the demo's), as the recipes expect."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "warehouse").symlink_to(demo_warehouse, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _mart(warehouse: Path, table: str) -> pd.DataFrame:
    return pq.read_table(warehouse / table / "part-0.parquet").to_pandas()


def _keyed(frame: pd.DataFrame) -> dict[tuple[str, str], int]:
    return {(str(r[0]), str(r[1])): int(r[2]) for r in frame.itertuples(index=False)}


def _positive_q01(warehouse: Path) -> dict[str, float]:
    q01 = _mart(warehouse, "marts/questions/ministry/q01")
    return dict(zip(q01["item_label"], q01["positive_pct"], strict=False))


def _rejections_by_rule() -> Counter[tuple[str, str]]:
    counts: Counter[tuple[str, str]] = Counter()
    for name, expected in EXPECTED_FILES.items():
        for rule, n in expected["rejected"].items():
            counts[(name.split("/")[0], rule)] += n
    return counts


def test_the_readme_has_recipes_for_each_tool() -> None:
    assert len(blocks("sql")) >= 5
    python = blocks("python")
    assert any("import pandas" in b for b in python) and any("import polars" in b for b in python)
    assert any("sqlite3" in b for b in python) and blocks("powerquery")


def test_duckdb_recipes(workdir: Path) -> None:
    warehouse = workdir / "data" / "warehouse"
    seen = set()
    for sql in blocks("sql"):
        title = sql.splitlines()[0].removeprefix("--").strip()
        result = duckdb.connect().execute(sql).df()
        assert len(result), title
        seen.add(title)
        if title == "responses accepted, per survey and wave":
            assert _keyed(result) == ACCEPTED
        elif title == "rows set aside, per survey and rule":
            got = Counter({(r.instrument, r.rule): r.n for r in result.itertuples()})
            assert got == _rejections_by_rule()
        elif title.startswith("the positive share of each item of ministry q01"):
            assert dict(zip(result["item_label"], result["positive_pct"], strict=True)) == (
                _positive_q01(warehouse)
            )
        elif title.startswith("ministry q04 recounted from the facts"):
            assert (result["n"] == result["n_facts"]).all()
            assert result["n"].sum() == _mart(warehouse, "marts/questions/ministry/q04")["n"].sum()
        elif title.startswith("ministry q04 by organisation type"):
            q04 = _mart(warehouse, "marts/questions/ministry/q04")
            assert result["n"].sum() == q04["n"].sum()
        elif title.startswith("the headline findings"):
            written = _mart(warehouse, "marts/headlines")
            assert result["headline"].tolist() == written["headline"].tolist()
            assert len(result) == 17
    assert len(seen) == len(blocks("sql")), "two recipes share a title"


def _frame(value) -> pd.DataFrame:
    return value if isinstance(value, pd.DataFrame) else value.to_pandas()


def test_python_recipes(workdir: Path) -> None:
    warehouse = workdir / "data" / "warehouse"
    for code in blocks("python"):
        names: dict[str, object] = {"__name__": "readme"}
        exec(compile(code, "README.md", "exec"), names)
        if "per_wave" in names:  # pandas, polars
            assert _keyed(_frame(names["per_wave"])) == ACCEPTED
        if "q01" in names:
            q01 = _frame(names["q01"])
            assert dict(zip(q01["item_label"], q01["positive_pct"], strict=True)) == (
                _positive_q01(warehouse)
            )
        if "q04" in names:
            q04 = _frame(names["q04"])
            assert len(q04) and (q04["n"] == q04["n_facts"]).all()
        if "q04_sql" in names:
            mart = _mart(warehouse, "marts/questions/ministry/q04")
            assert [row[2] for row in names["q04_sql"]] == mart["n"].tolist()
    csv = workdir / "question_results.csv"
    assert csv.read_bytes().startswith(b"\xef\xbb\xbf")  # the BOM Excel needs
    back = pd.read_csv(csv, encoding="utf-8-sig")
    assert len(back) == len(_mart(warehouse, "marts/question_results"))


def test_power_query_recipes_name_what_the_warehouse_holds(demo_warehouse: Path) -> None:
    for m in blocks("powerquery"):
        for path in re.findall(r'"C:\\koryu\\warehouse\\([^"]+)"', m):
            assert (demo_warehouse / path.replace("\\", "/")).exists(), path
        for columns in re.findall(r"\{((?:\"[a-z_]+\",?\s*)+)\}", m):
            names = re.findall(r'"([a-z_]+)"', columns)
            schema = pq.read_schema(
                next((demo_warehouse / "facts/respondents").rglob("*.parquet"))
            ).names
            assert set(names) - {"instrument", "wave", "Content"} <= set(schema), names


@pytest.mark.slow
def test_status_commands_as_written(demo_warehouse: Path) -> None:
    [commands] = [b for b in blocks("sh") if "koryu status" in b]
    env = {
        **os.environ,
        "KORYU_RAW_DIR": str(ROOT / "data" / "raw"),
        "KORYU_WAREHOUSE_DIR": str(demo_warehouse),
        "DAGSTER_HOME": str(demo_warehouse.parent / "dagster_home"),
    }
    env.pop("KORYU_SQL_URL", None)
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", commands],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "up to date" in proc.stdout and "nothing to run" in proc.stdout


@pytest.mark.slow
def test_production_recipe_as_written(postgres: dict[str, str], tmp_path: Path) -> None:
    """The block from a fresh clone's folder: make install, the folders, the config, the
    daemon and the webserver. Only the example values are replaced."""
    [recipe] = [b for b in blocks("sh") if "dagster-daemon run" in b]
    port = free_port()
    engine = sa.create_engine(sqlalchemy_url(postgres), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:  # a database of its own, as a deployment has
        conn.execute(sa.text('DROP DATABASE IF EXISTS "readme_recipe"'))
        conn.execute(sa.text('CREATE DATABASE "readme_recipe"'))
    engine.dispose()
    url = sqlalchemy_url({**postgres, "db": "readme_recipe"})
    substitutions = {
        "/srv/koryu": str(tmp_path / "srv"),
        "postgresql+psycopg2://dagster:secret@db:5432/dagster": url,
        "postgresql+psycopg2://koryu:secret@db:5432/koryu": url,
        "-p 3000": f"-p {port}",
    }
    for example, value in substitutions.items():
        assert example in recipe, example
        recipe = recipe.replace(example, value)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KORYU_", "DAGSTER_"))}
    proc = subprocess.Popen(
        ["bash", "-c", recipe],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: the daemon goes with it
    )
    daemon_up = "{ instance { daemonHealth { id allDaemonStatuses { daemonType healthy } } } }"
    try:
        deadline = time.monotonic() + 180
        healthy: set[str] = set()
        while "SENSOR" not in healthy:
            if proc.poll() is not None:
                pytest.fail((proc.stderr.read() if proc.stderr else b"").decode()[-3000:])
            if time.monotonic() > deadline:
                pytest.fail(f"the daemon never reported healthy sensors ({healthy})")
            with contextlib.suppress(OSError, KeyError, TypeError):
                data = post(f"http://127.0.0.1:{port}/graphql", daemon_up)["data"]
                statuses = data["instance"]["daemonHealth"]["allDaemonStatuses"]
                healthy = {s["daemonType"] for s in statuses if s["healthy"]}
            time.sleep(1)
        assert (tmp_path / "srv/dagster/dagster.yaml").exists()
        assert {"SCHEDULER", "QUEUED_RUN_COORDINATOR"} <= healthy
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
