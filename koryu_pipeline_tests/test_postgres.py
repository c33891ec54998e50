"""Against a real PostgreSQL server (a throw-away cluster the suite starts): the SQL copy,
and a whole `koryu run` with Dagster's own storage in PostgreSQL (deploy/dagster.yaml.example)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.marts.build import build_marts
from koryu_pipeline.settings import Settings
from koryu_pipeline.warehouse.publish import STATE_TABLE, publish_marts
from koryu_pipeline.warehouse.read import read_facts
from koryu_pipeline.warehouse.sql import read_table, sql_table_name
from koryu_pipeline_tests.postgres import sqlalchemy_url
from koryu_pipeline_tests.runs import ROOT, koryu_env, run_koryu

pytestmark = pytest.mark.slow


def _create_db(pg: dict[str, str], name: str) -> str:
    engine = sa.create_engine(sqlalchemy_url(pg), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return sqlalchemy_url({**pg, "db": name})


def test_sql_copy_on_postgres_typed_complete_and_incremental(
    postgres: dict[str, str], demo_warehouse: Path
) -> None:
    url = _create_db(postgres, "copy_test")
    cb = get_codebook()
    marts = build_marts(cb, *read_facts(cb, demo_warehouse), Settings().suppress_below)
    first = publish_marts(url, marts)
    assert len(first.replaced) == len(marts) and not first.unchanged

    engine = sa.create_engine(url)
    insp = sa.inspect(engine)
    cols = {
        c["name"]: c["type"] for c in insp.get_columns(sql_table_name("marts/question_results"))
    }
    assert isinstance(cols["n"], sa.Integer | sa.SmallInteger | sa.BigInteger)
    assert isinstance(cols["pct"], sa.Float | sa.Numeric)
    assert isinstance(cols["suppressed"], sa.Boolean)
    for key, (frame, _schema) in marts.items():
        back = read_table(url, key)
        assert len(back) == len(frame), key
    q04 = read_table(url, "marts/questions/ministry/q04").sort_values("option_code")
    on_disk = pq.read_table(demo_warehouse / "marts/questions/ministry/q04").to_pandas()
    assert q04["n"].tolist() == on_disk.sort_values("option_code")["n"].tolist()

    # unchanged: nothing replaced; one changed table: only it
    again = publish_marts(url, marts)
    assert again.replaced == [] and len(again.unchanged) == len(marts)
    frame, schema = marts["marts/headlines"]
    changed = dict(marts)
    changed["marts/headlines"] = (frame.iloc[:-1], schema)
    third = publish_marts(url, changed)
    assert third.replaced == [sql_table_name("marts/headlines")]
    with engine.connect() as conn:
        state = pd.read_sql(sa.text(f"SELECT * FROM {STATE_TABLE}"), conn)
    assert len(state) == len(marts)
    engine.dispose()


def test_koryu_run_with_dagster_storage_and_sql_copy_on_postgres(
    postgres: dict[str, str], tmp_path: Path
) -> None:
    dagster_db = _create_db(postgres, "dagster_storage")
    marts_db = _create_db(postgres, "koryu_marts")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "deploy/dagster.yaml.example", home / "dagster.yaml")
    run_koryu(
        koryu_env(tmp_path, ROOT / "data/raw", DAGSTER_PG_URL=dagster_db, KORYU_SQL_URL=marts_db)
    )

    # Dagster's runs and events live in PostgreSQL, not in DAGSTER_HOME
    engine = sa.create_engine(dagster_db)
    with engine.connect() as conn:
        runs = conn.execute(sa.text("SELECT status FROM runs")).scalars().all()
        events = conn.execute(sa.text("SELECT count(*) FROM event_logs")).scalar()
    engine.dispose()
    assert runs and set(runs) == {"SUCCESS"}
    assert events > 50
    assert not list(home.glob("**/*.db"))

    # the marts' SQL copy went to its own PostgreSQL database
    names = set(sa.inspect(sa.create_engine(marts_db)).get_table_names())
    assert sql_table_name("marts/headlines") in names
    headlines = read_table(marts_db, "marts/headlines")
    assert sorted(headlines["slide"]) == list(range(1, 18))
