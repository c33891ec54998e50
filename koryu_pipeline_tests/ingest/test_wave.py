"""One wave end to end up to the facts, written to a warehouse folder."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pandas.testing import assert_frame_equal, assert_series_equal

from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.ingest.validation import FileValidation
from koryu_pipeline.ingest.wave import PREVIEW_ROWS, WaveFacts, _without_number, ingest_wave
from koryu_pipeline.warehouse.parquet import flat_path, write_wave
from koryu_pipeline.warehouse.tables import FILES, REJECTIONS, RESPONDENTS, WAVE_TABLES
from koryu_pipeline_tests.exports import (
    base_hires,
    base_ministry,
    write_google_csv,
    write_msforms_xlsx,
)

WRITTEN = WAVE_TABLES


def write_wave_facts(cb, warehouse: Path, facts: WaveFacts) -> dict[str, list[str]]:
    return write_wave(cb, warehouse, facts.wave, facts.tables)


EMAILS = ("taro.yamada0@example.go.jp", "taro.yamada1@example.go.jp", "hanako@example.org")
NAMES = ("山田 太郎0", "山田 太郎1", "佐藤 花子")
PERSONAL = (*EMAILS, *NAMES, "example.go.jp", "example.org", "山田", "佐藤", "メール", "名前")


def make_raw(raw: Path) -> Path:
    m = raw / "ministry" / "2023"
    write_msforms_xlsx(
        m / "1_partial.xlsx",
        [base_ministry(org_name="A省"), base_ministry(org_name="B省", q07="xx")],
    )
    write_msforms_xlsx(
        m / "2_final.xlsx",
        [
            base_ministry(org_name="A省"),
            base_ministry(org_name="B省", q07="xx"),
            base_ministry(
                org_name="C省",
                s_dispatch="はい",
                q01_1="よく当てはまる",
                q06=["年齢"],
                メール=EMAILS[2],
                名前=NAMES[2],
            ),
            base_ministry(org_name="A省", q08_age="40代"),  # resubmitted
        ],
    )
    (m / "3_broken.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    h = raw / "hires" / "2023"
    write_google_csv(h / "a.csv", [base_hires(), base_hires(support_wishes=["特になし", "その他"])])
    write_google_csv(h / "b.csv", [base_hires(age_band="40代")], encoding="cp932", sep=";")
    return raw


def parquet_files(warehouse: Path) -> list[Path]:
    return sorted(warehouse.rglob("*.parquet"))


def snapshot(warehouse: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.relative_to(warehouse).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in parquet_files(warehouse)
    }


@pytest.fixture
def written(tmp_path):
    raw = make_raw(tmp_path / "raw")
    warehouse = tmp_path / "warehouse"
    cb = get_codebook()
    changed = write_wave_facts(cb, warehouse, ingest_wave(cb, raw, "2023"))
    return raw, warehouse, changed


def test_first_write_writes_every_table(written):
    _, warehouse, changed = written
    assert sorted(changed) == sorted(WRITTEN)
    for table in WRITTEN:
        assert changed[table] == ["instrument=hires/wave=2023", "instrument=ministry/wave=2023"]
    names = [p.relative_to(warehouse).as_posix() for p in parquet_files(warehouse)]
    assert "facts/respondents/instrument=ministry/wave=2023/part-0.parquet" in names
    assert "facts/respondents.parquet" in names  # the whole table beside its folder
    assert len(names) == 3 * len(WRITTEN)
    assert not list(warehouse.rglob("*.tmp"))


def test_second_write_is_byte_identical_and_rewrites_nothing(written, tmp_path):
    raw, warehouse, _ = written
    before = snapshot(warehouse)
    cb = get_codebook()
    changed = write_wave_facts(cb, warehouse, ingest_wave(cb, raw, "2023"))
    assert changed == {t: [] for t in WRITTEN}
    assert snapshot(warehouse) == before  # same bytes, files untouched (mtimes)
    # a fresh warehouse from the same input: the same bytes
    other = tmp_path / "other"
    write_wave_facts(cb, other, ingest_wave(cb, raw, "2023"))
    assert {k: v[0] for k, v in snapshot(other).items()} == {k: v[0] for k, v in before.items()}


def test_changed_emails_change_no_file(written, tmp_path):
    _, warehouse, _ = written
    before = snapshot(warehouse)
    raw2 = tmp_path / "raw2"
    make_raw(raw2)
    # the same responses with other e-mails and names
    write_msforms_xlsx(
        raw2 / "ministry" / "2023" / "2_final.xlsx",
        [
            base_ministry(org_name="A省", メール="a@x.example", 名前="甲"),
            base_ministry(org_name="B省", q07="xx", メール="b@x.example", 名前="乙"),
            base_ministry(
                org_name="C省", s_dispatch="はい", q01_1="よく当てはまる", q06=["年齢"], メール=None
            ),
            base_ministry(org_name="A省", q08_age="40代", 名前=None),
        ],
    )
    cb = get_codebook()
    changed = write_wave_facts(cb, warehouse, ingest_wave(cb, raw2, "2023"))
    assert changed == {t: [] for t in WRITTEN}
    assert snapshot(warehouse) == before


def test_no_personal_data_anywhere_in_the_warehouse(written):
    _, warehouse, _ = written
    files = parquet_files(warehouse)
    assert files
    for path in files:
        table = pq.read_table(path)
        for name in table.column_names:
            assert not any(p in name for p in PERSONAL), (path, name)
        for name, column in zip(table.column_names, table.columns, strict=True):
            if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
                continue
            for value in column.to_pylist():
                if value is None:
                    continue
                assert not any(p in value for p in PERSONAL), (path, name, value)
                assert "@" not in value, (path, name, value)
        raw_bytes = path.read_bytes()
        for p in PERSONAL:
            assert p.encode() not in raw_bytes


def test_what_was_written(written):
    _, warehouse, _ = written
    base = warehouse / "quarantine"
    files = pq.read_table(base / "files" / "instrument=ministry" / "wave=2023").to_pylist()
    counts = {f["source_file"]: (f["rows"], f["accepted"], f["rejected"]) for f in files}
    assert counts == {
        "ministry/2023/1_partial.xlsx": (2, 0, 2),  # both repeated in the final export
        "ministry/2023/2_final.xlsx": (4, 2, 2),  # B省 unknown option; A省 superseded
        "ministry/2023/3_broken.xlsx": (0, 0, 0),
    }
    for rows, accepted, rejected in counts.values():
        assert accepted + rejected == rows
    rej = pq.read_table(base / "rejections" / "instrument=ministry" / "wave=2023").to_pylist()
    assert [(r["source_file"], r["source_row"], r["rule"]) for r in rej] == [
        ("ministry/2023/1_partial.xlsx", 2, "duplicate"),
        ("ministry/2023/1_partial.xlsx", 3, "duplicate"),
        ("ministry/2023/1_partial.xlsx", 3, "unknown_option"),  # both copies break it
        ("ministry/2023/2_final.xlsx", 2, "superseded"),
        ("ministry/2023/2_final.xlsx", 3, "unknown_option"),
        ("ministry/2023/3_broken.xlsx", None, "unreadable_file"),
    ]
    resp = pq.read_table(warehouse / "facts" / "respondents" / "instrument=ministry").to_pylist()
    assert sorted((r["org_name"], r["source_row"]) for r in resp) == [("A省", 5), ("C省", 4)]
    hires = pq.read_table(warehouse / "facts" / "respondents" / "instrument=hires").to_pylist()
    assert len(hires) == 2  # the 特になし + その他 response is rejected (unknown option)
    schema = pq.read_schema(
        warehouse / "facts" / "respondents" / "instrument=ministry" / "wave=2023" / "part-0.parquet"
    )
    assert schema.field("submitted_at").type == pa.timestamp("us", tz="UTC")
    answers = pq.read_schema(
        warehouse / "facts" / "answers" / "instrument=ministry" / "wave=2023" / "part-0.parquet"
    )
    assert answers.field("option_code").type == pa.int16()


def test_rows_are_conserved_for_every_raw_file(tmp_path):
    raw = make_raw(tmp_path / "raw")
    facts = ingest_wave(get_codebook(), raw, "2023")
    files = facts.table("quarantine/files")
    raw_files = sorted(p.relative_to(raw).as_posix() for p in raw.rglob("*.*"))
    assert sorted(files["source_file"]) == raw_files
    respondents = facts.table("facts/respondents")
    rejections = facts.table("quarantine/rejections")
    for f in files.itertuples():
        assert f.accepted + f.rejected == f.rows, f.source_file
        assert f.accepted == (respondents["source_file"] == f.source_file).sum()
        mine = rejections[rejections["source_file"] == f.source_file]
        if f.file_rejected:
            assert len(mine) == 1 and f.accepted == 0
        else:
            assert mine["source_row"].nunique() == f.rejected
    assert files["rows"].sum() == 2 + 4 + 0 + 2 + 1


def test_a_wave_without_a_form_is_quarantined_whole(tmp_path):
    raw = tmp_path / "raw"
    write_msforms_xlsx(raw / "ministry" / "2031" / "x.xlsx", [base_ministry(), base_ministry()])
    facts = ingest_wave(get_codebook(), raw, "2031")
    assert facts.instruments() == ["ministry"]
    rej = facts.table("quarantine/rejections")
    assert rej[["source_file", "rule"]].values.tolist() == [["ministry/2031/x.xlsx", "no_form"]]
    files = facts.table("quarantine/files")
    assert files[["rows", "accepted", "rejected"]].values.tolist() == [[2, 0, 2]]
    assert facts.table("facts/answers").empty


def test_a_wave_with_no_exports(tmp_path):
    facts = ingest_wave(get_codebook(), tmp_path / "raw", "2023")
    assert facts.instruments() == [] and facts.tables == {}


def test_a_wave_folder_that_is_no_year_fails_by_name(tmp_path):
    # every table stores the wave as the survey year's number: a mistyped folder is named
    raw = tmp_path / "raw"
    write_msforms_xlsx(raw / "ministry" / "2O24" / "x.xlsx", [base_ministry()])
    with pytest.raises(ValueError, match=r"survey year.*'2O24'"):
        ingest_wave(get_codebook(), raw, "2O24")


def test_each_table_whole_in_one_file_with_its_instrument_and_wave(written, tmp_path):
    raw, warehouse, _ = written
    cb = get_codebook()
    # a second wave (no form for it: its files are quarantined whole)
    write_msforms_xlsx(raw / "ministry" / "2031" / "x.xlsx", [base_ministry()])
    write_wave_facts(cb, warehouse, ingest_wave(cb, raw, "2031"))
    for table in WRITTEN:
        flat = pq.read_table(flat_path(warehouse, table))  # what a single-file reader sees
        hive = pq.read_table(warehouse / table)  # the partitioned folder, unaffected
        assert {"instrument", "wave"} <= set(flat.column_names), table
        assert flat.schema.field("wave").type == pa.int32()
        assert flat.num_rows == hive.num_rows, table
        assert set(hive.column_names) <= set(flat.column_names), table  # staging: a union
        pairs = set(zip(*flat.select(["instrument", "wave"]).to_pydict().values(), strict=True))
        expected = {("hires", 2023), ("ministry", 2023)} | (
            {("ministry", 2031)} if table.startswith("quarantine/") else set()
        )
        assert pairs == expected, table
    # the staging tables: one column set per form, the union in one file
    parsed = pq.read_table(flat_path(warehouse, "staging/parsed")).to_pandas()
    assert {"org_name", "support_wishes"} <= set(parsed.columns)
    assert parsed.loc[parsed["instrument"] == "hires", "org_name"].isna().all()


# ------------------------------------------------------------------ personal data typed in

TYPED = (
    "taro.suzuki@example.go.jp",
    "03-1234-5678",
    "090-1234-5678",
    "+81 3 1234 5678",
    "０３－１２３４－５６７８",
    "hanako@example.org",
)


def test_personal_data_typed_into_cells_is_scrubbed_everywhere(tmp_path):
    from koryu_pipeline.warehouse.personal import MARKER

    raw = tmp_path / "raw"
    m = raw / "ministry" / "2023"
    clean = [base_ministry(org_name="A省"), base_ministry(org_name="B省", q07="xx")]
    write_msforms_xlsx(m / "clean.xlsx", clean)
    write_msforms_xlsx(
        m / "typed.xlsx",
        [
            *clean,
            base_ministry(org_name="連絡先 taro.suzuki@example.go.jp", personnel_line="事務系"),
            base_ministry(org_name="D省", personnel_line="内線 03-1234-5678 / 090-1234-5678"),
            base_ministry(org_name="E省", personnel_line="山田 太郎0"),  # row 2's 名前
            base_ministry(org_name="F省", personnel_line="山田太郎1さん"),  # row 3's, unspaced
            base_ministry(org_name="G省", q07="hanako@example.org"),  # a choice: rejected
            base_ministry(org_name="H省", q08_age="+81 3 1234 5678"),
            base_ministry(org_name="I省", 完了時刻="０３－１２３４－５６７８"),  # kept as value
        ],
    )
    warehouse = tmp_path / "warehouse"
    cb = get_codebook()
    facts = ingest_wave(cb, raw, "2023")
    write_wave_facts(cb, warehouse, facts)
    personal = (*TYPED, *NAMES, "山田太郎", "example.go.jp", "example.org")
    for path in parquet_files(warehouse):
        data = path.read_bytes()
        for text in personal:
            assert text.encode() not in data, (path, text)
        table = pq.read_table(path)
        for name, column in zip(table.column_names, table.columns, strict=True):
            for value in map(str, column.to_pylist()):
                assert not any(p in value for p in personal), (path, name, value)
    resp = facts.table("facts/respondents").set_index("source_row")
    typed = resp[resp["source_file"] == "ministry/2023/typed.xlsx"]
    assert typed.loc[4, "org_name"] == f"連絡先 {MARKER}"
    assert typed.loc[5, "personnel_line"] == f"内線 {MARKER} / {MARKER}"
    assert typed.loc[6, "personnel_line"] == typed.loc[7, "personnel_line"] == MARKER
    rej = facts.table("quarantine/rejections")
    rej = rej[rej["source_file"] == "ministry/2023/typed.xlsx"].set_index("source_row")
    assert rej.loc[8, ["rule", "value"]].tolist() == ["unknown_option", MARKER]
    assert MARKER in rej.loc[8, "message"]
    assert rej.loc[9, ["rule", "value"]].tolist() == ["unknown_option", MARKER]
    assert rej.loc[10, ["rule", "value"]].tolist() == ["invalid_timestamp", MARKER]
    # a clean response keeps its identity beside scrubbed ones: the copy in the other
    # export is its duplicate
    assert sorted(typed.index) == [2, 4, 5, 6, 7]
    dup = facts.table("quarantine/rejections").query("source_file == 'ministry/2023/clean.xlsx'")
    assert dup[["source_row", "rule"]].values.tolist() == [
        [2, "duplicate"],
        [3, "duplicate"],
        [3, "unknown_option"],
    ]


def test_respondent_ids_do_not_depend_on_scrubbing(tmp_path):
    """A clean response's id is what it was before scrubbing existed: a hash of its own
    identity (Forms' ID and time), unchanged by personal data elsewhere in the file."""
    from koryu_pipeline.ingest.readers.normalise import stable_id

    raw = tmp_path / "raw"
    write_msforms_xlsx(
        raw / "ministry" / "2023" / "a.xlsx",
        [base_ministry(org_name="A省"), base_ministry(org_name="x@example.org")],
    )
    resp = ingest_wave(get_codebook(), raw, "2023").table("facts/respondents")
    a = resp[resp["org_name"] == "A省"]
    key = "id=1|at=2023-11-20T01:00:00+00:00#0"
    assert a["respondent_id"].tolist() == [stable_id("m", "ministry", "2023", key)]


def test_with_a_sink_each_table_is_let_go_of_before_the_next_is_made(tmp_path):
    """The sink gets every table the wave makes, exactly as `tables` holds them without a
    sink, one at a time: by the time the next is made, nothing holds the one before (the
    quarantine's, which the run logs, are kept), and the facts are made once the files'
    validations are let go of."""
    raw = make_raw(tmp_path / "raw")
    cb = get_codebook()
    whole = ingest_wave(cb, raw, "2023")
    received: list[tuple[tuple[str, str], weakref.ref[pd.DataFrame]]] = []

    def sink(instrument: str, table: str, frame: pd.DataFrame) -> None:
        for key, ref in received:
            if key[1] not in (REJECTIONS, FILES):
                assert ref() is None, f"{key} still held when {table} was made"
        if table == RESPONDENTS:  # the files' validations are done with by then
            assert not [o for o in gc.get_objects() if isinstance(o, FileValidation)]
        assert_frame_equal(frame, whole.tables[(instrument, table)])
        received.append(((instrument, table), weakref.ref(frame)))

    facts = ingest_wave(cb, raw, "2023", sink=sink)
    assert sorted(k for k, _ in received) == sorted(whole.tables)
    assert sorted(facts.tables) == sorted(k for k in whole.tables if k[1] in (REJECTIONS, FILES))
    for key, ref in received:
        assert (ref() is None) == (key[1] not in (REJECTIONS, FILES)), key
    for table in WAVE_TABLES:
        assert facts.made(table) == whole.made(table)
        assert facts.row_count(table) == len(whole.table(table))
        assert_frame_equal(facts.head(table), whole.table(table).head(PREVIEW_ROWS))


@pytest.mark.parametrize(
    "keys",
    [
        ["a#0", "a#1", "b#12"],
        ["x#１２#3", "#0", "y#1#2"],  # full-width digits, a "#" in the key itself
        ["a#1\n#0"],  # a newline inside
        ["a#1", "b"],  # one without a number: pandas' own path
        ["a#1\n"],  # "$" also matches before a final newline in Python's re
        ["a#1", None],
        [],
    ],
)
def test_response_keys_lose_their_number_as_pandas_would(keys):
    for dtype in ("str", object):
        given = pd.Series(keys, dtype=dtype, name="response_key")
        expected = given.str.replace(r"#\d+$", "", regex=True)
        assert_series_equal(_without_number(given), expected)
