"""The scale benchmark's export generator (benchmarks/scale_exports.py) writes valid exports:
the exact bytes of the shared writer, and every row accepted by the readers and validation.
No timing here: `make bench-scale` measures."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd

from benchmarks import scale_exports as gen
from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.ingest.wave import ingest_wave
from koryu_pipeline.warehouse.tables import FILES, REJECTIONS


def _write_raw(raw: Path, hires_rows: int, ministry_rows: int) -> tuple[Path, Path]:
    hires = gen.write_hires_csv(raw / "hires" / gen.WAVE / "hires.csv", gen.hires(hires_rows))
    ministry = raw / "ministry" / gen.WAVE / "ministry.xlsx"
    ministry.parent.mkdir(parents=True)
    ministry.write_bytes(gen.ministry_xlsx_bytes(gen.ministry(ministry_rows)))
    return hires, ministry


def _files_and_rejections(raw: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    facts = ingest_wave(get_codebook(), raw, gen.WAVE)
    return facts.table(FILES), facts.table(REJECTIONS)


def test_direct_csv_is_the_shared_writers_bytes(tmp_path: Path) -> None:
    dealt = gen.hires(50)
    path = gen.write_hires_csv(tmp_path / "h.csv", dealt)
    assert path.read_bytes() == gen.hires_csv_via_writer(dealt)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")


def test_generation_is_deterministic(tmp_path: Path) -> None:
    a = gen.write_hires_csv(tmp_path / "a.csv", gen.hires(50)).read_bytes()
    b = gen.write_hires_csv(tmp_path / "b.csv", gen.hires(50)).read_bytes()
    assert a == b
    assert gen.ministry_xlsx_bytes(gen.ministry(20)) == gen.ministry_xlsx_bytes(gen.ministry(20))


def test_every_generated_row_is_accepted(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    hires, _ = _write_raw(raw, 50, 20)
    files, rejections = _files_and_rejections(raw)
    assert rejections.empty, rejections[["source_file", "rule", "column"]].to_string()
    by_file = files.set_index("source_file")
    assert by_file.loc["hires/2023/hires.csv", ["rows", "accepted"]].tolist() == [50, 50]
    assert by_file.loc["ministry/2023/ministry.xlsx", ["rows", "accepted"]].tolist() == [20, 20]

    # the 1% append of the benchmark adds new responses, all valid too
    gen.append_hires(hires, 50, 5)
    files, rejections = _files_and_rejections(raw)
    assert rejections.empty, rejections[["source_file", "rule", "column"]].to_string()
    by_file = files.set_index("source_file")
    assert by_file.loc["hires/2023/hires.csv", ["rows", "accepted"]].tolist() == [55, 55]


def test_ministry_answers_follow_routing() -> None:
    dealt = gen.ministry(200)
    form = dealt.form
    for i in range(len(dealt)):
        answers = dealt.answers(i)
        for entry in form.entries:
            shown = all(
                any(
                    label in values
                    for label in gen._labels(answers[dep])  # a single label or a choice set
                )
                for dep, values in entry.asked_if
            )
            cols = [it.item_id for it in entry.items] or [entry.id]
            assert all((answers[c] is not None) == shown for c in cols), (i, entry.id)


def test_sqlite_floor_inserts_every_row_of_the_copy(tmp_path: Path) -> None:
    """The floor under the SQL copy is SQLite inserting the copy's very rows, into the same
    tables and indexes; the copy itself is left as it was."""
    from benchmarks.scale import sqlite_floor

    db = tmp_path / "koryu.sqlite"
    con = sqlite3.connect(db)
    con.execute('CREATE TABLE "facts__answers" (respondent_id VARCHAR, option_code SMALLINT)')
    con.execute("CREATE TABLE _state (name VARCHAR PRIMARY KEY, digest VARCHAR)")
    con.execute("CREATE INDEX ix_answers ON facts__answers (option_code)")
    con.executemany(
        "INSERT INTO facts__answers VALUES (?, ?)",
        [(f"r{i}", None if i % 7 == 0 else i % 5) for i in range(1_000)],
    )
    con.executemany("INSERT INTO _state VALUES (?, ?)", [("a", "x"), ("b", "データ")])
    con.commit()
    con.close()
    before = db.read_bytes()

    rows, seconds = sqlite_floor(db)
    assert rows == 1_002
    assert seconds > 0
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["koryu.sqlite"]  # no scratch left

    kept = tmp_path / "floor.sqlite"
    sqlite_floor(db, keep=kept)
    src, dst = sqlite3.connect(db), sqlite3.connect(kept)
    schema = "SELECT type, name, sql FROM sqlite_master ORDER BY name"
    assert dst.execute(schema).fetchall() == src.execute(schema).fetchall()
    for table in ("facts__answers", "_state"):
        query = f"SELECT * FROM {table} ORDER BY rowid"
        assert dst.execute(query).fetchall() == src.execute(query).fetchall()
    src.close()
    dst.close()


def test_parquet_floor_encodes_every_published_partition(demo_warehouse: Path) -> None:
    """The Parquet floor encodes the facts and the quarantine (not staging), every row of
    them: as many rows as the SQL copy holds of those tables."""
    from benchmarks.scale import parquet_floor

    rows, seconds = parquet_floor(demo_warehouse)
    con = sqlite3.connect(demo_warehouse / "koryu.sqlite")
    names = [
        name
        for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if name.startswith(("facts__", "quarantine__"))
    ]
    expected = sum(con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names)
    con.close()
    assert len(names) == 5
    assert rows == expected > 0
    assert seconds > 0
