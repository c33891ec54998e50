"""The readers' shared column helpers, against the scalar code they stand for."""

from __future__ import annotations

import random
import sys

import numpy as np
import pandas as pd
import pyarrow as pa

from koryu_pipeline.ingest.readers.base import (
    BATCH_ROWS,
    Coded,
    blank_cells,
    empty_row,
    field_cells,
    field_column,
    frame_column,
    join_text,
    scrubber_of,
    scrubber_of_arrays,
)
from koryu_pipeline_tests.exports import hires_form, ministry_form


def test_blank_cells_is_what_str_strip_strips():
    every = [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    cells = [*every, *(c * 3 for c in every), "", " a ", "\u3000x\u3000"]
    got = blank_cells(pa.array(cells, pa.large_string()))
    assert got.tolist() == [not c.strip() for c in cells]
    assert got.tolist() == [empty_row([c]) for c in cells]


CELLS = [
    "",
    " ",
    "府省",
    " 府省 ",
    "３０代",
    "その他",
    "自由記述 03-1234-5678",
    "鈴木 一郎",
    "上司等との面談機会の充実, 特になし",
    "上司等との面談機会の充実;特になし;",
    "上司等との面談機会の充実;;上司等との面談機会の充実",
    "ﾒﾝﾀｰの割り当てなどによる同僚からの支援の充実",
    "a@example.jp",
    "None",
    ";",
]


def test_field_column_is_field_cells():
    rng = random.Random(5)
    scrub = scrubber_of([["鈴木 一郎", "a@example.jp", None]])
    assert scrubber_of_arrays([pa.array(["鈴木 一郎", "a@example.jp", ""])]).names == scrub.names
    for form in (hires_form(), ministry_form()):
        for field in form.fields:
            labels = [o.label for o in field.entry.options]
            raw = [rng.choice(CELLS + labels) for _ in range(500)]
            coded = field_column(field, pa.array(raw, pa.large_string()), (";", ", "), scrub)
            assert [coded.values[c] for c in coded.codes] == field_cells(
                field, raw, (";", ", "), scrub
            )


def test_frame_column_is_what_pandas_makes_of_the_list():
    cases = [["a", None, "a"], [None, None], [("a", "b"), None, ("a", "b")], ["x"]]
    for values in cases:
        distinct = list(dict.fromkeys(values))
        coded = Coded(distinct, np.array([distinct.index(v) for v in values]))
        got, want = frame_column(coded), pd.DataFrame({"c": values})["c"]
        assert got.dtype == want.dtype
        pd.testing.assert_series_equal(got, want, check_names=False)


def test_join_text_is_row_by_row_concatenation():
    rng = random.Random(2)
    rows = 2 * BATCH_ROWS + 17  # batches of rows, the last one short
    whole = pa.array(
        [rng.choice(["", "at=2023", "長い" * 50]) for _ in range(rows)], pa.large_string()
    )
    texts = ["|a=", "|a=府省", "|b=None", ""]
    codes = np.array([rng.randrange(len(texts)) for _ in range(rows)])
    got = join_text([whole, (pa.array(texts, pa.large_string()), codes)], rows)
    assert got.to_pylist() == [w + texts[c] for w, c in zip(whole.to_pylist(), codes, strict=True)]
    assert join_text([pa.array([""] * 3, pa.large_string())], 3).to_pylist() == [""] * 3
    assert join_text([], 0).to_pylist() == []
