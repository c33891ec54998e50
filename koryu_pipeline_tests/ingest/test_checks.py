"""The pandera schemas of the fact tables, on facts built from real exports."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.parquet as pq
import pytest

from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.ingest.checks import (
    fact_schema,
    no_personal_data,
    pandera_schema,
    personal_data_found,
    row_conservation,
    written_tables,
)
from koryu_pipeline.ingest.wave import ingest_wave
from koryu_pipeline.warehouse.parquet import partition_path, write_wave
from koryu_pipeline.warehouse.personal import COMPUTED_COLUMNS, personal_data_in
from koryu_pipeline.warehouse.tables import (
    ANSWERS,
    FILES,
    RESPONDENTS,
    STAGING_PARSED,
    WAVE_TABLES,
)
from koryu_pipeline_tests.exports import (
    base_hires,
    base_ministry,
    write_google_csv,
    write_msforms_xlsx,
)


@pytest.fixture
def wave(tmp_path):
    raw = tmp_path / "raw"
    write_msforms_xlsx(
        raw / "ministry" / "2023" / "a.xlsx",
        [
            base_ministry(personnel_line="人事課"),
            base_ministry(org_name="B省", s_hire="はい", q13=["上司等との面談機会の充実"]),
            base_ministry(org_name="C省", q07="xx"),
        ],
    )
    write_google_csv(raw / "hires" / "2023" / "a.csv", [base_hires(), base_hires(age_band="20代")])
    return ingest_wave(get_codebook(), raw, "2023")


def test_written_tables_pass(wave):
    cb = get_codebook()
    for table in (
        "facts/respondents",
        "facts/answers",
        "quarantine/rejections",
        "quarantine/files",
    ):
        frame = wave.table(table)
        assert not frame.empty, table
        fact_schema(cb, table).validate(frame, lazy=True)
        assert personal_data_found(frame) == []


def test_answer_code_must_match_its_label(wave):
    cb = get_codebook()
    answers = wave.table("facts/answers").copy()
    answers.loc[0, "option_code"] = answers.loc[0, "option_code"] + 1
    with pytest.raises(pa.errors.SchemaErrors, match="option_code_matches_codebook"):
        fact_schema(cb, "facts/answers").validate(answers, lazy=True)


def test_one_row_per_choice(wave):
    cb = get_codebook()
    answers = wave.table("facts/answers")
    doubled = pd.concat([answers, answers.iloc[:1]], ignore_index=True)
    with pytest.raises(pa.errors.SchemaErrors, match="one_row_per_key"):
        fact_schema(cb, "facts/answers").validate(doubled, lazy=True)


def test_respondent_ids_unique(wave):
    cb = get_codebook()
    r = wave.table("facts/respondents")
    doubled = pd.concat([r, r.iloc[:1]], ignore_index=True)
    with pytest.raises(pa.errors.SchemaErrors):
        fact_schema(cb, "facts/respondents").validate(doubled, lazy=True)


def test_row_conservation_check(wave):
    cb = get_codebook()
    files = wave.table("quarantine/files").copy()
    fact_schema(cb, "quarantine/files").validate(files)
    files.loc[0, "rejected"] = files.loc[0, "rejected"] + 1
    with pytest.raises(pa.errors.SchemaErrors, match="row_conservation"):
        fact_schema(cb, "quarantine/files").validate(files, lazy=True)


def test_personal_data_found():
    clean = pd.DataFrame({"org_name": ["A省"], "value": [None]})
    assert personal_data_found(clean) == []
    assert personal_data_found(clean.assign(メール=["x"])) == ["メール"]
    leaked = clean.assign(value=["taro.yamada0@example.go.jp"])
    assert personal_data_found(leaked) == ["value"]


PLANTED = ["連絡先 03-1234-5678", "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ まで"]
# what an export puts in the tables, each of which must still be searched
FROM_EXPORTS = {
    ("staging/parsed", "q07"),  # an unknown option, kept as typed
    ("staging/parsed", "response_key"),
    ("staging/validated", "org_name"),  # free text
    ("facts/respondents", "personnel_line"),
    ("facts/respondents", "source_file"),
    ("quarantine/rejections", "value"),
    ("quarantine/rejections", "message"),
    ("quarantine/files", "source_file"),
}


def text_cells(frame: pd.DataFrame) -> list[tuple[str, int]]:
    """(column, first row holding text) of every text column the check searches."""
    out = []
    for column in frame.columns:
        if column in COMPUTED_COLUMNS:
            continue
        held = [i for i, v in enumerate(frame[column]) if isinstance(v, str | tuple)]
        if held:
            out.append((column, held[0]))
    return out


def plant(frame: pd.DataFrame, column: str, row: int, text: str) -> pd.DataFrame:
    frame = frame.copy()
    cell = frame.at[row, column]
    if isinstance(cell, tuple):
        frame[column] = frame[column].astype(object)
    frame.at[row, column] = (*cell, text) if isinstance(cell, tuple) else f"{cell} {text}"
    return frame


@pytest.mark.parametrize("text", PLANTED)
def test_personal_data_planted_in_any_text_column_is_found(wave, text):
    cb = get_codebook()
    tables = {key: wave.table(key) for key in WAVE_TABLES}
    assert no_personal_data(cb, RESPONDENTS, tables).passed
    searched = set()
    for key, frame in tables.items():
        for column, row in text_cells(frame):
            searched.add((key, column))
            outcome = no_personal_data(
                cb, RESPONDENTS, {**tables, key: plant(frame, column, row, text)}
            )
            assert not outcome.passed, (key, column)
            assert outcome.metadata == {"columns_with_personal_data": {key: [column]}}
    assert searched >= FROM_EXPORTS


def test_codes_match_labels_fails_exactly_the_rows_not_in_the_codebook(wave):
    """The vectorised lookup against the codebook, row for row as a Python set would."""
    cb = get_codebook()
    answers = pd.concat([wave.table(ANSWERS)] * 3, ignore_index=True)
    answers["option_code"] = answers["option_code"].astype(object)
    answers.loc[0, "option_code"] = answers.loc[0, "option_code"] + 1  # a wrong code
    answers.loc[1, "option_label"] = "ほかの選択肢"  # a wrong label
    answers.loc[2, "wave"] = 2022  # a wave the form is not of
    answers.loc[3, "option_code"] = None
    answers.loc[4, "option_code"] = float(answers.loc[4, "option_code"])  # 1.0 == 1
    answers.loc[5, "instrument"] = "hires" if answers.loc[5, "instrument"] == "ministry" else "x"
    valid = {
        (f.instrument, int(f.wave), e.id, o.code, o.label)
        for f in cb.forms
        for e in f.questions
        for o in e.options
    }
    key = ["instrument", "wave", "question_id", "option_code", "option_label"]
    expected = [tuple(r) in valid for r in answers[key].itertuples(index=False)]
    assert expected[:6] == [False, False, False, False, True, False]
    with pytest.raises(pa.errors.SchemaErrors) as info:
        fact_schema(cb, ANSWERS).validate(answers, lazy=True)
    cases = info.value.failure_cases
    failed = cases.loc[cases["check"] == "option_code_matches_codebook"]
    failed = sorted(set(failed["index"]))
    assert failed == [i for i, ok in enumerate(expected) if not ok]


def test_the_schema_check_leaves_the_tables_as_they_were(wave):
    """pandera validates in place (no copy of a million rows): it must change nothing."""
    cb = get_codebook()
    tables = {key: wave.table(key) for key in WAVE_TABLES}
    before = {key: frame.copy() for key, frame in tables.items()}
    for key in (RESPONDENTS, ANSWERS, "quarantine/files"):
        assert pandera_schema(cb, key, tables).passed
    doubled = pd.concat([tables[ANSWERS], tables[ANSWERS].iloc[:1]], ignore_index=True)
    kept = doubled.copy()
    outcome = pandera_schema(cb, ANSWERS, {ANSWERS: doubled})
    assert not outcome.passed and outcome.metadata["failures"] > 0
    for key, frame in tables.items():
        pd.testing.assert_frame_equal(frame, before[key])
        assert list(frame.dtypes) == list(before[key].dtypes)
    pd.testing.assert_frame_equal(doubled, kept)


def test_the_checks_read_what_was_written(wave, tmp_path):
    """`written_tables` reads each table back from disk as Arrow when a check asks for it:
    the outcomes are those on the frames, and a file changed on disk is what is checked."""
    cb, warehouse = get_codebook(), tmp_path / "warehouse"
    write_wave(cb, warehouse, "2023", wave.tables)
    made = {key: wave.made(key) for key in WAVE_TABLES}
    written = written_tables(cb, warehouse, "2023", made)
    assert list(written) == list(WAVE_TABLES)
    frames = {key: wave.table(key) for key in WAVE_TABLES}
    for key in WAVE_TABLES:
        table = written[key]
        assert isinstance(table, pyarrow.Table) and table.num_rows == len(frames[key]), key
    for check, key in (
        (pandera_schema, RESPONDENTS),
        (pandera_schema, ANSWERS),
        (pandera_schema, FILES),
        (row_conservation, FILES),
        (no_personal_data, RESPONDENTS),
    ):
        assert check(cb, key, written) == check(cb, key, frames), (check, key)
    assert pandera_schema(cb, ANSWERS, written).passed

    # a number in a staging file on disk (list cells included), one in a fact file
    path = partition_path(warehouse, STAGING_PARSED, "hires", "2023")
    parsed = pq.read_table(path)
    wishes = parsed.column("support_wishes").to_pylist()
    wishes[0] = [*wishes[0], PLANTED[0]]
    pq.write_table(
        parsed.set_column(
            parsed.schema.get_field_index("support_wishes"),
            "support_wishes",
            pyarrow.array(wishes, parsed.schema.field("support_wishes").type),
        ),
        path,
    )
    path = partition_path(warehouse, FILES, "ministry", "2023")
    files = pq.read_table(path).to_pandas().assign(source_file=PLANTED[1])
    pq.write_table(pyarrow.Table.from_pandas(files, preserve_index=False), path)
    outcome = no_personal_data(cb, RESPONDENTS, written)
    assert not outcome.passed
    expected = {STAGING_PARSED: ["support_wishes"], FILES: ["source_file"]}
    assert outcome.metadata == {"columns_with_personal_data": expected}
    assert personal_data_in(written) == expected  # as when searched all at once
