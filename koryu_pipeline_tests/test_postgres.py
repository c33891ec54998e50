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
from koryu_pipeline.warehouse.publish import (
    STATE_SCHEMA,
    STATE_TABLE,
    partitions_on_disk,
    publish_marts,
)
from koryu_pipeline.warehouse.read import read_facts
from koryu_pipeline.warehouse.sql import read_table, sql_table_name
from koryu_pipeline.warehouse.tables import FACT_TABLES, sql_tables, table_registry
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
    registry = table_registry(cb)
    marts = build_marts(cb, *read_facts(cb, demo_warehouse), Settings().suppress_below)
    facts = {
        s.key: (s.schema, partitions_on_disk(cb, demo_warehouse, s.key, s.schema))
        for s in sql_tables(registry)
        if s.partitioned
    }
    assert sorted(facts) == sorted(FACT_TABLES)

    def publish(tables):
        return publish_marts(url, tables, partitioned=facts, specs=registry)

    first = publish(marts)
    assert len(first.replaced) == len(marts) + len(facts) and not first.unchanged
    assert len(first.partitions_replaced) == 2 * len(facts)  # both instruments of 2023

    engine = sa.create_engine(url)
    insp = sa.inspect(engine)
    cols = {
        c["name"]: c["type"] for c in insp.get_columns(sql_table_name("marts/question_results"))
    }
    assert isinstance(cols["n"], sa.Integer | sa.SmallInteger | sa.BigInteger)
    assert isinstance(cols["wave"], sa.Integer) and not isinstance(cols["wave"], sa.SmallInteger)
    assert isinstance(cols["pct"], sa.Float | sa.Numeric)
    assert isinstance(cols["suppressed"], sa.Boolean)
    for key, (frame, _schema) in marts.items():
        back = read_table(url, key)
        assert len(back) == len(frame), key
    for key in facts:
        assert len(read_table(url, key)) == pq.read_table(demo_warehouse / key).num_rows, key
    q04 = read_table(url, "marts/questions/ministry/q04").sort_values("option_code")
    on_disk = pq.read_table(demo_warehouse / "marts/questions/ministry/q04").to_pandas()
    assert q04["n"].tolist() == on_disk.sort_values("option_code")["n"].tolist()

    # the analysts' schema holds their tables only; the bookkeeping has its own
    assert set(insp.get_table_names()) == {sql_table_name(k) for k in [*marts, *facts]}
    assert STATE_TABLE in insp.get_table_names(schema=STATE_SCHEMA)
    # no reserved words to quote; every table and column described (COMMENT ON)
    dictionary_cols = [c["name"] for c in insp.get_columns("data_dictionary")]
    assert {"table_name", "column_name"} <= set(dictionary_cols)
    assert not {"table", "column"} & set(dictionary_cols)
    for key in [*marts, *facts]:
        name = sql_table_name(key)
        assert insp.get_table_comment(name)["text"], name
        bare = [c["name"] for c in insp.get_columns(name) if not c.get("comment")]
        assert not bare, (name, bare)
    with engine.connect() as conn:
        comment = conn.execute(
            sa.text("SELECT col_description('facts__answers'::regclass, 3)")
        ).scalar()
        assert comment and "survey year" in comment  # the third column: wave
        joined = conn.execute(
            sa.text(
                "SELECT count(*) FROM facts__answers a JOIN marts__question_results m "
                "USING (instrument, wave, question_id, option_code) "
                "WHERE a.item_id IS NULL AND m.item_id IS NULL"
            )
        ).scalar()
    answers = pq.read_table(demo_warehouse / "facts/answers").to_pandas()
    assert joined == int(answers["item_id"].isna().sum())

    # unchanged: nothing replaced; one changed table: only it
    again = publish(marts)
    assert again.replaced == [] and again.partitions_replaced == []
    assert len(again.unchanged) == len(marts) + len(facts)
    frame, schema = marts["marts/headlines"]
    changed = dict(marts)
    changed["marts/headlines"] = (frame.iloc[:-1], schema)
    third = publish(changed)
    assert third.replaced == [sql_table_name("marts/headlines")]
    with engine.connect() as conn:
        state = pd.read_sql(sa.text(f"SELECT * FROM {STATE_SCHEMA}.{STATE_TABLE}"), conn)
    assert len(state) == len(marts) + len(facts) + 2 * len(facts)
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

    # the SQL copy went to its own PostgreSQL database: marts, facts and quarantine
    names = set(sa.inspect(sa.create_engine(marts_db)).get_table_names())
    assert {"marts__headlines", "facts__answers", "quarantine__rejections"} <= names
    assert not any("state" in n for n in names)
    facts = read_table(marts_db, "facts/respondents")
    assert facts.groupby("instrument").size().to_dict() == {"hires": 552, "ministry": 49}
    headlines = read_table(marts_db, "marts/headlines")
    assert sorted(headlines["slide"]) == list(range(1, 18))
