"""The pandera schemas of the fact tables, on facts built from real exports."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
import pytest

from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.ingest.checks import fact_schema, personal_data_found
from koryu_pipeline.ingest.wave import ingest_wave
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
            base_ministry(),
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
