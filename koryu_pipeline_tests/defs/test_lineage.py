"""Lineage says what reads what: each table's upstream assets are the tables it is computed
from, and the column lineage names real columns of those tables."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.defs.checks import asset_key
from koryu_pipeline.defs.lineage import column_lineages
from koryu_pipeline.warehouse.tables import (
    ANSWERS,
    DATA_DICTIONARY,
    EXPOSURES,
    HEADLINES,
    QUESTION_RESULTS,
    SUPPORT_GAP,
    question_table_keys,
    table_registry,
)


def test_registry_lineage() -> None:
    codebook = get_codebook()
    registry = table_registry(codebook)
    questions = question_table_keys(codebook)
    assert all(registry[q].deps == (ANSWERS, EXPOSURES) for q in questions)
    assert set(registry[QUESTION_RESULTS].deps) == set(questions)
    assert set(registry[SUPPORT_GAP].deps) == {
        "marts/questions/hires/support_wishes",
        "marts/questions/ministry/q13",
    }
    assert registry[DATA_DICTIONARY].deps == ()
    # the headlines read what codebook/headlines.yaml names: 20 questions and support_gap
    assert SUPPORT_GAP in registry[HEADLINES].deps
    assert len(registry[HEADLINES].deps) == len(set(registry[HEADLINES].deps)) == 21


def test_column_lineage_names_upstream_columns() -> None:
    codebook = get_codebook()
    registry = table_registry(codebook)
    by_key = {asset_key(k): spec for k, spec in registry.items()}
    for table, lineage in column_lineages(codebook, registry).items():
        published = {c.name for c in registry[table].columns}
        assert set(lineage.deps_by_column) <= published and lineage.deps_by_column, table
        for deps in lineage.deps_by_column.values():
            for dep in deps:
                upstream = by_key[dep.asset_key]
                assert upstream.key in registry[table].deps, (table, upstream.key)
                assert dep.column_name in {c.name for c in upstream.columns}


def test_the_demo_run_records_column_lineage(demo_warehouse: Path) -> None:
    home = demo_warehouse.parent / "dagster_home"
    with dg.DagsterInstance.from_config(str(home)) as instance:
        event = instance.get_latest_materialization_event(asset_key(QUESTION_RESULTS))
    assert event is not None and event.asset_materialization is not None
    lineage = event.asset_materialization.metadata["dagster/column_lineage"].value
    assert len(lineage.deps_by_column["n"]) == len(question_table_keys(get_codebook()))
