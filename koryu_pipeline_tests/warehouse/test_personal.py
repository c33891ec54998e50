"""Personal data: the patterns, the scrubber, and the test run on tables before writing."""

from __future__ import annotations

import random
import sys
import unicodedata

import pandas as pd
import pyarrow as pa
import pytest

from koryu_pipeline.codebook import normalise_text
from koryu_pipeline.warehouse.personal import (
    MARKER,
    Scrubber,
    has_pattern,
    may_have_pattern,
    personal_data_found,
    personal_data_in,
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
    # characters NFKC turns into @ or digits, in text that was not normalised first
    "taro﹫example.co.jp",
    "⓪③-①②③④-⑤⑥⑦⑧",
    "⁰³-¹²³⁴-⁵⁶⁷⁸",
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


@pytest.mark.parametrize("before", ["011 ", "02 ", "+10 ", "311(00 ", "+31 03 ", "(+)+3 "])
@pytest.mark.parametrize("number", ["03-1234-5678", "03(1234)5678", "090-1234-5678"])
def test_a_number_after_a_near_miss_is_found(before, number):
    """Digits before a number can make a candidate that overlaps it, with the wrong count
    of digits ("011 03-1234": 9) or the right one ("011 090-1234": 10); the number is
    still found, and scrubbed whole."""
    assert has_pattern(before + number)
    scrubbed = scrub_text(before + number)
    assert scrubbed.endswith(MARKER) and not any(c.isdigit() for c in scrubbed[-8:])


def test_a_number_after_random_digits_and_separators_is_found():
    rng = random.Random(20231222)
    alphabet = list("0123-( )+1")
    numbers = ["03-1234-5678", "090-1234-5678", "(03)1234-5678", "0312345678", "03(1234)5678"]
    missed = []
    for _ in range(20_000):
        before = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6)))
        for number in numbers:
            if not has_pattern(f"{before} {number}"):
                missed.append(f"{before} {number}")
    assert missed == []


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


# --------------------------------------------------------------------------- the prefilter
# `personal_data_found` lets RE2 clear most texts before the exact patterns run: it must never
# clear a text the patterns would flag, whatever NFKC makes of it.


def _nfkc_images() -> dict[str, list[str]]:
    """Each character -> the characters NFKC turns into it (０ -> 0, ＠ -> @, ...)."""
    images: dict[str, list[str]] = {}
    for i in range(sys.maxunicode + 1):
        c = chr(i)
        if unicodedata.decomposition(c):
            norm = unicodedata.normalize("NFKC", c)
            if len(norm) == 1 and norm != c:
                images.setdefault(norm, []).append(c)
    return images


def test_the_prefilter_keeps_every_variant_of_the_patterns():
    images = _nfkc_images()
    texts = []
    for text in PERSONAL:
        for context in ("{}", "連絡先：{}。", "x {} y", "「{}」", "á{}ć"):
            texts.append(context.format(text))
        for i, c in enumerate(text):  # each character in each of its NFKC forms
            texts += [text[:i] + other + text[i + 1 :] for other in images.get(c, [])]
    texts += ["(03)1234-5678ä", "03-1234-5678\u0301", "㈱ 03-1234-5678", "⑴0312345678"]
    flagged = [t for t in texts if has_pattern(t)]
    assert flagged == texts
    kept = may_have_pattern(pa.array(flagged)).to_pylist()
    assert all(kept), [t for t, k in zip(flagged, kept, strict=True) if not k]


def test_the_prefilter_keeps_what_the_patterns_find_in_random_text():
    """Random text of digits, separators and their look-alikes: wherever has_pattern finds
    something, the prefilter must keep the text (it once missed 6á after a number: NFKC
    composes a + ◌́, which is then no ASCII letter ending the number)."""
    rng = random.Random(20231222)
    alphabet = list("0123456789" * 4 + "+()-  @.ab_xA") + list(
        "０１２３４５６７８９＋（）－＠　ー−‐―𝟎𝟗①⑨⁰³₀٣۵⑴㈱㎡¼゛ｰｶﾞ日本\u0301\u0338\u3099\t\n\u00a0"
    )
    texts = ["3６5(𝟎6３①329𝟎７９6áﾞ"] + [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 18))) for _ in range(60_000)
    ]
    kept = may_have_pattern(pa.array(texts)).to_pylist()
    flagged = [t for t in texts if has_pattern(t)]
    assert len(flagged) > 100  # the test means something
    missed = [t for t, k in zip(texts, kept, strict=True) if not k and has_pattern(t)]
    assert missed == []


def test_the_prefilter_clears_what_the_warehouse_holds():
    """What keeps the check fast: ids, keys, dates, labels are cleared without Python."""
    cleared = [*NOT_PERSONAL, "府省", "上司等との面談機会の充実", "m0312345678abcdef0123"]
    assert not any(may_have_pattern(pa.array(cleared)).to_pylist())


@pytest.mark.parametrize(
    "column",
    [
        pd.Series(["A省", None, "090-1234-5678"], dtype="str"),
        pd.Series(["A省", None, "090-1234-5678"], dtype=object),
        pd.Series(["A省", None, "090-1234-5678"], dtype="category"),
        pd.Series(["A省", None, "090-1234-5678"], dtype=pd.ArrowDtype(pa.large_string())),
        pd.Series([("ア",), None, ("イ", "taro@example.go.jp")], dtype=object),
        pd.Series([["ア"], None, ["イ", "taro@example.go.jp"]], dtype=object),  # unhashable
        pd.Series(["A省", 3, ("x", 5, "03-1234-5678")], dtype=object),  # mixed cells
    ],
)
def test_personal_data_found_in_every_kind_of_column(column):
    assert personal_data_found(pd.DataFrame({"c": column})) == ["c"]
    assert personal_data_found(pd.DataFrame({"c": column.iloc[:2]})) == []


def test_only_used_categories_are_searched():
    column = pd.Categorical(["A省"], categories=["A省", "03-1234-5678"])
    assert personal_data_found(pd.DataFrame({"c": column})) == []


def test_computed_columns_are_not_searched():
    """respondent_id is a hash the pipeline computes; any other column is searched."""
    frame = pd.DataFrame({"respondent_id": ["03-1234-5678"], "other_id": ["03-1234-5678"]})
    assert personal_data_found(frame) == ["other_id"]
    assert personal_data_found(frame, skip=()) == ["respondent_id", "other_id"]


def test_personal_data_in_several_tables_at_once():
    tables = {
        "a": pd.DataFrame({"x": ["A省"], "y": ["a@b.example"]}),
        "b": pa.table({"x": ["B省"]}),
        "c": pa.table({"メール": ["x"], "z": pa.array([["03-1234-5678"]])}),
    }
    assert personal_data_in(tables) == {"a": ["y"], "c": ["メール", "z"]}


@pytest.mark.parametrize("distinct", [True, False])
def test_long_columns_are_searched_whole(distinct):
    """A column of distinct texts (keys) is searched value by value, one that repeats itself
    by its distinct values: either way a planted number is found, and only it."""
    texts = [f"id={i}|at=2023-11-20T06:04:00+00:00" if distinct else "府省" for i in range(30_000)]
    frame = pd.DataFrame({"key": pd.Series(texts, dtype="str")})
    assert personal_data_found(frame) == []
    assert personal_data_found(pa.Table.from_pandas(frame)) == []
    texts[25_000] += "|連絡先 090-1234-5678"
    frame = pd.DataFrame({"key": pd.Series(texts, dtype="str")})
    assert personal_data_found(frame) == ["key"]
    assert personal_data_found(pa.Table.from_pandas(frame)) == ["key"]


def test_a_column_in_many_chunks_is_searched_chunk_by_chunk():
    """Arrow columns read from Parquet come in chunks: each is searched as it is (combining
    them would copy the column), and a column is named once however many chunks hold a
    number, exactly as when it is one chunk."""
    texts = [f"id={i}|at=2023-11-20T06:04:00+00:00" for i in range(30_000)]
    texts[7] += " 090-1234-5678"
    texts[25_000] += " taro@example.go.jp"
    lists = [[t] for t in texts]
    whole = pa.table({"key": texts, "メール": texts, "lists": lists, "clean": ["x"] * 30_000})
    chunked = pa.Table.from_batches(whole.to_batches(max_chunksize=4_096))
    assert chunked.column("key").num_chunks == 8
    expected = {"t": ["メール", "key", "メール", "lists"]}  # a personal header, then the texts
    assert personal_data_in({"t": whole}) == expected
    assert personal_data_in({"t": chunked}) == expected
    clean = pa.Table.from_batches(whole.select(["clean"]).to_batches(max_chunksize=4_096))
    assert personal_data_in({"t": clean}) == {}
