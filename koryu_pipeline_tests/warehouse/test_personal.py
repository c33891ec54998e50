"""Personal data: the patterns, the scrubber, and the test run on tables before writing."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from koryu_pipeline.codebook import normalise_text
from koryu_pipeline.warehouse.personal import (
    MARKER,
    Scrubber,
    has_pattern,
    personal_data_found,
    scrub_series,
    scrub_text,
)

PERSONAL = [
    "03-1234-5678",
    "090-1234-5678",
    "0312345678",
    "09012345678",
    "(03)1234-5678",
    "03(1234)5678",
    "03 1234 5678",
    "0120-123-456",
    "+81-3-1234-5678",
    "+81 90 1234 5678",
    "+81(0)3-1234-5678",
    "+819012345678",
    "+1 212 555 0100",
    "０３－１２３４－５６７８",  # full width, as typed with a Japanese IME
    "03−1234−5678",  # minus signs
    "taro.yamada@example.go.jp",
    "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ",
]
# What the warehouse holds and must never be taken for personal data.
NOT_PERSONAL = [
    "2023-11-20",
    "2023/11/20 15:04:05",
    "2023/11/20 3:04:05 午後 GMT+9",
    "9999/12/31 23:59:59 GMT-9",
    "0001-01-01 00:00:00",
    "2023-11-20T06:04:00+00:00",
    "id=12|at=2023-11-20T01:00:00+00:00#0",
    "at=2023-11-20T06:04:00+00:00|host_org_type=府省|age_band=30代",
    "m0312345678abcdef",  # a respondent_id
    "令和3年11月1日",
    "30代",
    "45250.5",
    "1e+308",
    "100-8926",  # a postcode
    "内線1234",
    "ministry/2023/ministry_2023_export_20231222.xlsx",
]


@pytest.mark.parametrize("text", PERSONAL)
def test_personal_patterns_are_scrubbed(text):
    assert has_pattern(text)
    assert scrub_text(f"連絡先：{text}。") == f"連絡先:{MARKER}。"  # the rest is kept (NFKC)
    assert personal_data_found(pd.DataFrame({"c": [f"x {text}"]})) == ["c"]


@pytest.mark.parametrize("text", NOT_PERSONAL)
def test_what_is_not_personal_is_left_alone(text):
    assert not has_pattern(text)
    assert scrub_text(text) is text


def test_marker_is_stable_under_normalisation():
    assert normalise_text(MARKER) == MARKER
    assert scrub_text(MARKER) == MARKER
    assert not has_pattern(MARKER)


def test_scrubber_matches_the_exports_own_personal_values():
    scrub = Scrubber(["山田 太郎", "taro@example.go.jp", "甲", None, "anonymous"])
    assert scrub("山田太郎") == MARKER
    assert scrub("人事系統は山田　太郎です") == MARKER  # however spaced: the whole cell
    assert scrub("ANONYMOUS") == MARKER
    assert scrub("総務省") == "総務省"
    assert scrub("甲府事務所") == "甲府事務所"  # one character is not matched
    assert scrub("taro@example.go.jp まで") == f"{MARKER} まで"


def test_scrub_series_keeps_clean_columns_as_they_are():
    clean = pd.Series(["A省", None, "B省"])
    assert scrub_series(clean) is clean
    dirty = pd.Series(["A省", "03-1234-5678", None, ("ア", "a@b.example")], dtype=object)
    assert scrub_series(dirty).tolist() == ["A省", MARKER, None, ("ア", MARKER)]


def test_personal_data_found_in_arrow_tables_and_lists():
    table = pa.table(
        {
            "ok": pa.array(["A省", None]),
            "wishes": pa.array([["ア"], ["イ", "090-1234-5678"]], pa.list_(pa.string())),
            "n": pa.array([1, 2]),
        }
    )
    assert personal_data_found(table) == ["wishes"]
    assert personal_data_found(pa.table({"メール": pa.array([1])})) == ["メール"]
    assert personal_data_found(pd.DataFrame({"名前": [1]})) == ["名前"]


@pytest.mark.parametrize(
    "text",
    ["x" * 200_000 + "1", "a." * 100_000 + "@1", "a@" * 100_000, "0-" * 100_000, "(0)" * 70_000],
)
def test_long_cells_are_searched_in_linear_time(text):
    """A 200,000-character cell once made the e-mail pattern backtrack for hours."""
    assert not has_pattern(text)
    assert scrub_text(text) is text
