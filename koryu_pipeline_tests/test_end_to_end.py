"""`koryu run` on the bundled demo exports, read back as an analyst would (pyarrow, DuckDB,
SQLAlchemy), against independent expectations: the generator's documented defects and an
independent DuckDB tabulation of the facts."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.demo.calibration import EXPECTED_ACCEPTED, EXPECTED_FILES
from koryu_pipeline.warehouse.sql import sql_table_name
from koryu_pipeline.warehouse.tables import mart_tables, sql_tables, table_registry

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _glob(wh: Path, table: str) -> str:
    return str(wh / table / "**" / "*.parquet")


def test_files_rows_rules_and_conservation_are_exact(demo_warehouse: Path) -> None:
    files_glob = _glob(demo_warehouse, "quarantine/files")
    files = duckdb.sql(
        f"SELECT source_file, rows, accepted, rejected FROM read_parquet('{files_glob}')"
    ).df()
    got = {r.source_file: r for r in files.itertuples()}
    assert set(got) == set(EXPECTED_FILES)
    rej_glob = _glob(demo_warehouse, "quarantine/rejections")
    rej = duckdb.sql(f"SELECT source_file, source_row, rule FROM read_parquet('{rej_glob}')").df()
    for name, exp in EXPECTED_FILES.items():
        row = got[name]
        assert (row.rows, row.accepted) == (exp["rows"], exp["accepted"])
        assert row.accepted + row.rejected == row.rows
        mine = rej[rej["source_file"] == name]
        assert dict(Counter(mine["rule"])) == exp["rejected"]
        assert mine["source_row"].nunique() == row.rejected
    respondents = pq.read_table(demo_warehouse / "facts/respondents").to_pandas()
    assert respondents.groupby("instrument").size().to_dict() == EXPECTED_ACCEPTED
    ministry = respondents[respondents["instrument"] == "ministry"]
    assert (ministry["s_dispatch"] == "はい").sum() == 16
    assert (ministry["s_hire"] == "はい").sum() == 34
    q16 = pq.read_table(demo_warehouse / "marts/questions/ministry/q16_reasons").to_pandas()
    assert set(q16["base_n"]) == {25} and set(q16["shown_n"]) == {25}


def _personal_values() -> set[str]:
    """Every メール / 名前 value in the demo's raw exports."""
    values: set[str] = set()
    for path in (ROOT / "data/raw/ministry").rglob("*.xlsx"):
        ws = load_workbook(path, read_only=True).worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = list(next(rows))
        idx = [header.index("メール"), header.index("名前")]
        for r in rows:
            values.update(str(r[i]) for i in idx if r[i])
    return values


def test_no_personal_data_anywhere(demo_warehouse: Path) -> None:
    personal = _personal_values()
    assert len(personal) > 40
    for path in demo_warehouse.rglob("*.parquet"):
        table = pq.read_table(path)
        assert not {"メール", "名前"} & set(table.column_names)
        text = io.StringIO()
        table.to_pandas().to_csv(text)
        dump = text.getvalue()
        leaked = [v for v in personal if v in dump]
        assert not leaked, f"{path}: {leaked[:3]}"
    db = (demo_warehouse / "koryu.sqlite").read_bytes().decode("utf-8", "ignore")
    assert not [v for v in personal if v in db]
    assert "@" not in "".join(
        str(v) for v in pd.read_parquet(demo_warehouse / "quarantine/rejections")["value"]
    )


def test_question_marts_equal_an_independent_duckdb_tabulation(demo_warehouse: Path) -> None:
    answers = _glob(demo_warehouse, "facts/answers")
    exposures = _glob(demo_warehouse, "facts/exposures")
    expected = duckdb.sql(
        f"""
        WITH base AS (
            SELECT instrument, wave, question_id,
                   coalesce(item_id, '') AS item,
                   count(*) FILTER (WHERE shown) AS shown_n,
                   count(*) FILTER (WHERE shown AND answered) AS base_n
            FROM read_parquet('{exposures}') GROUP BY ALL),
        counts AS (
            SELECT a.instrument, a.wave, a.question_id,
                   coalesce(a.item_id, '') AS item, a.option_code, count(*) AS n
            FROM read_parquet('{answers}') a
            JOIN read_parquet('{exposures}') x
              ON x.respondent_id = a.respondent_id AND x.question_id = a.question_id
             AND coalesce(x.item_id, '') = coalesce(a.item_id, '') AND x.shown
            GROUP BY ALL)
        SELECT b.*, c.option_code, c.n FROM base b JOIN counts c USING
            (instrument, wave, question_id, item)
        """
    ).df()
    marts = pq.read_table(demo_warehouse / "marts/question_results").to_pandas()
    marts["item"] = marts["item_id"].fillna("")
    merged = expected.merge(
        marts,
        on=["instrument", "wave", "question_id", "item", "option_code"],
        suffixes=("_x", ""),
        validate="one_to_one",
    )
    assert len(merged) == len(expected)
    assert (merged["n_x"] == merged["n"]).all()
    assert (merged["base_n_x"] == merged["base_n"]).all()
    assert (merged["shown_n_x"] == merged["shown_n"]).all()
    pct = 100 * merged["n"] / merged["base_n"]
    assert ((merged["pct"] - pct).abs() < 1e-9).all()
    # every option of every question is there, chosen or not
    cb = get_codebook()
    for form in cb.forms:
        for e in form.questions:
            rows = marts[(marts["instrument"] == form.instrument) & (marts["question_id"] == e.id)]
            assert len(rows) == len(e.options) * max(1, len(e.items)), e.id
    # each per-question table is that question's slice of question_results
    q04 = pq.read_table(demo_warehouse / "marts/questions/ministry/q04").to_pandas()
    assert q04["n"].tolist() == marts[marts["question_id"] == "q04"]["n"].tolist()
    assert int(q04["base_n"].iloc[0]) == 16


def test_support_gap_equals_an_independent_tabulation(demo_warehouse: Path) -> None:
    gap = pq.read_table(demo_warehouse / "marts/comparisons/support_gap").to_pandas()
    answers = pq.read_table(demo_warehouse / "facts/answers").to_pandas()
    exposures = pq.read_table(demo_warehouse / "facts/exposures").to_pandas()

    def share(instrument: str, qid: str) -> tuple[Counter, int]:
        x = exposures[(exposures["instrument"] == instrument) & (exposures["question_id"] == qid)]
        base = int((x["shown"] & x["answered"]).sum())
        a = answers[(answers["instrument"] == instrument) & (answers["question_id"] == qid)]
        return Counter(a["option_label"]), base

    hires, hires_base = share("hires", "support_wishes")
    ministry, ministry_base = share("ministry", "q13")
    assert (hires_base, ministry_base) == (552, 34)
    assert len(gap) == 11
    for r in gap.itertuples():
        assert r.hires_n == hires[r.hires_option_label]
        assert r.ministry_n == ministry[r.ministry_option_label]
        assert (r.hires_base_n, r.ministry_base_n) == (552, 34)
        diff = 100 * r.hires_n / 552 - 100 * r.ministry_n / 34
        assert abs(r.gap_pct_points - diff) < 1e-9
        assert r.gap_ci_low <= r.gap_pct_points <= r.gap_ci_high
    top = gap.sort_values("hires_rank").iloc[0]
    assert top["hires_option_label"] == "府省特有の文化やルールに関する解説の充実"


def test_sql_copy_holds_every_table_an_analyst_reads(demo_warehouse: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{demo_warehouse / 'koryu.sqlite'}")
    keys = [s.key for s in sql_tables(table_registry(get_codebook()))]
    assert set(_mart_keys()) | {"facts/answers", "quarantine/rejections"} <= set(keys)
    try:
        names = set(sa.inspect(engine).get_table_names())
        # the analysts' tables, and the bookkeeping marked as such
        assert names == {sql_table_name(k) for k in keys} | {"_koryu_publish_state"}
        with engine.connect() as conn:
            for key in keys:
                rows = conn.execute(sa.text(f"SELECT count(*) FROM {sql_table_name(key)}")).scalar()
                assert rows == pq.read_table(demo_warehouse / key).num_rows, key
            # the dictionary's keys need no quoting, and name the SQL tables and columns
            found = conn.execute(
                sa.text(
                    "SELECT sql_table, sql_column FROM data_dictionary "
                    "WHERE table_name = 'quarantine/rejections' AND column_name = 'column'"
                )
            ).all()
            assert found == [("quarantine__rejections", "column_name")]
            assert conn.execute(sa.text("SELECT column_name FROM quarantine__rejections")).all()
    finally:
        engine.dispose()


def test_run_prints_per_file_counts(demo_warehouse: Path) -> None:
    out = (demo_warehouse.parent / "stdout.txt").read_text()
    for name, exp in EXPECTED_FILES.items():
        line = next(x for x in out.splitlines() if x.startswith(name))
        # rows, accepted, counted once (a duplicate of another export), rejected
        duplicates = exp["rejected"].get("duplicate", 0)
        assert line.split()[1:5] == [
            str(exp["rows"]),
            str(exp["accepted"]),
            str(duplicates),
            str(exp["rows"] - exp["accepted"] - duplicates),
        ]
    assert "ministry/2023: 49 accepted, 20 counted once (duplicate of another export)" in out
    assert "ministry/2023: 49 accepted" in out
    assert "hires/2023: 552 accepted" in out


def test_data_dictionary_covers_every_published_column(demo_warehouse: Path) -> None:
    dd = pq.read_table(demo_warehouse / "data_dictionary").to_pandas()
    described = set(zip(dd["table"], dd["column"], strict=True))
    for key in _mart_keys():
        for col in pq.read_schema(demo_warehouse / key / "part-0.parquet").names:
            assert (key, col) in described, (key, col)
    assert dd["description_ja"].str.len().min() > 0
    assert dd["description_en"].str.len().min() > 0


def test_parquet_types_suit_bi_tools(demo_warehouse: Path) -> None:
    # Parquet for analysts: no pandas categoricals, UTC microsecond timestamps
    schema = pq.read_schema(
        demo_warehouse / "facts/respondents/instrument=ministry/wave=2023/part-0.parquet"
    )
    assert str(schema.field("submitted_at").type) == "timestamp[us, tz=UTC]"
    for path in demo_warehouse.rglob("*.parquet"):
        for field in pq.read_schema(path):
            assert "dictionary" not in str(field.type), (path, field)


def test_run_logs_and_metadata_tell_on_call_what_happened(demo_warehouse: Path) -> None:
    import dagster as dg

    home = demo_warehouse.parent / "dagster_home"
    with dg.DagsterInstance.from_config(str(home)) as instance:
        run = instance.get_runs(limit=1)[0]
        messages = [e.user_message for e in instance.all_logs(run.run_id)]
        for name, exp in EXPECTED_FILES.items():
            assert any(
                m.startswith(f"{name}: {exp['rows']} rows -> {exp['accepted']} accepted")
                for m in messages
            ), name
        assert any("rejections by rule" in m and "superseded" in m for m in messages)
        files = (
            instance.fetch_materializations(
                dg.AssetRecordsFilter(
                    asset_key=dg.AssetKey(["quarantine", "files"]), asset_partitions=["2023"]
                ),
                limit=1,
            )
            .records[0]
            .asset_materialization
        )
        per_file = files.metadata["per_file"].value
        assert {f["source_file"] for f in per_file} == set(EXPECTED_FILES)
        rejections = (
            instance.fetch_materializations(
                dg.AssetRecordsFilter(
                    asset_key=dg.AssetKey(["quarantine", "rejections"]), asset_partitions=["2023"]
                ),
                limit=1,
            )
            .records[0]
            .asset_materialization
        )
        by_rule = rejections.metadata["rejections_by_rule"].value
        assert by_rule["duplicate"] == 20
        answers = instance.get_latest_materialization_event(
            dg.AssetKey(["facts", "answers"])
        ).asset_materialization
        assert answers.metadata["dagster/row_count"].value > 0
        assert answers.metadata["path"].value.endswith("part-0.parquet")
    # the static column schema is part of every table's definition (the SQL copy and the
    # report files are not tables)
    from koryu_pipeline.definitions import defs

    graph = defs().resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.is_executable and key.path[0] not in ("sql", "report"):
            assert node.metadata["dagster/column_schema"].columns, key


def _mart_keys() -> list[str]:
    return [s.key for s in mart_tables(table_registry(get_codebook()))]


def test_run_writes_the_results_summary(demo_warehouse: Path) -> None:
    from pptx import Presentation

    report = demo_warehouse / "report"
    assert sorted(p.name for p in report.iterdir()) == [
        "koryu_results_2023.html",
        "koryu_results_2023.pptx",
        "koryu_results_2023.xlsx",
    ]
    assert len(Presentation(str(report / "koryu_results_2023.pptx")).slides) == 18
    assert load_workbook(report / "koryu_results_2023.xlsx", read_only=True).sheetnames[0] == "目次"


def test_waves_comparison_explains_itself_on_one_wave(demo_warehouse: Path) -> None:
    import dagster as dg

    assert pq.read_table(demo_warehouse / "marts/comparisons/waves").num_rows == 0
    home = demo_warehouse.parent / "dagster_home"
    with dg.DagsterInstance.from_config(str(home)) as instance:
        event = instance.get_latest_materialization_event(
            dg.AssetKey(["marts", "comparisons", "waves"])
        )
        note = event.asset_materialization.metadata["explanation"].value
    assert note.startswith("No rows, by design") and "hires 2023; ministry 2023" in note
