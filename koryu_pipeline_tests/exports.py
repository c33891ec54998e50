"""Write real export files for tests, with the demo's writers (`koryu_pipeline.demo.writers`):
Microsoft Forms .xlsx and Google Forms .csv (UTF-8 with/without BOM, CP932). Rows are dicts
keyed by codebook column id; a multi answer is a list of labels. A row may also set an
export's own cells by header (ID, 開始時刻, 完了時刻, メール, 名前; タイムスタンプ)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

import pandas as pd

from koryu_pipeline.codebook import Form, get_codebook
from koryu_pipeline.demo.writers import (
    SHEET_SEP,
    GoogleFormsRow,
    Layout,
    MsFormsRow,
    download_timestamp,
    googleforms_csv_text,
    msforms_xlsx_bytes,
    sheet_timestamp,
    write_export,
)
from koryu_pipeline.ingest.readers.base import ParsedExport
from koryu_pipeline.ingest.readers.googleforms_csv import TIMESTAMP_HEADER
from koryu_pipeline.ingest.readers.msforms_xlsx import (
    ID_HEADER,
    PERSONAL_HEADERS,
    STARTED_HEADER,
    SUBMITTED_HEADER,
)

EXPORTED = datetime(2023, 12, 22, 10, 0)  # the workbooks' creation time: fixed, as in the demo


def ministry_form() -> Form:
    return get_codebook().form("ministry", "2023")


def hires_form() -> Form:
    return get_codebook().form("hires", "2023")


def base_ministry(**over: object) -> dict[str, object]:
    """A valid ministry response routed to nothing but the questions asked of all."""
    row: dict[str, object] = {
        "org_name": "テスト省",
        "org_type": "府省",
        "personnel_line": None,
        "s_dispatch": "いいえ",
        "s_hire": "いいえ",
        "q07": "更なる交流派遣に積極的である",
        "q08_age": "30代",
        "q08_work": "所管行政と関連する分野の業務",
        "q16": "更なる交流採用に積極的である",
        "q17_age": "30代",
        "q17_traits": ["異なる環境や組織文化に適応できる"],
    }
    row.update(over)
    return row


def blank_ministry() -> dict[str, object]:
    """A row with only spaces in its answer cells and no ID, times, メール or 名前: not a
    response, so the readers skip it (its row number still counts)."""
    return {k: "  " for k in base_ministry()} | {
        "ID": None,
        "開始時刻": None,
        "完了時刻": None,
        "メール": None,
        "名前": None,
    }


def base_hires(**over: object) -> dict[str, object]:
    row: dict[str, object] = {
        "host_org_type": "府省",
        "age_band": "30代",
        "industry": "製造業",
        "satisfaction_1": "満足",
        "satisfaction_2": "やや満足",
        "satisfaction_3": "満足",
        "support_wishes": ["府省特有の文化やルールに関する解説の充実"],
    }
    row.update(over)
    return row


def write_msforms_xlsx(
    path: Path,
    rows: Iterable[dict[str, object] | None],
    form: Form | None = None,
    *,
    drop_headers: tuple[str, ...] = (),
    header_suffix: str = "",
    header_map: dict[str, str] | None = None,
    extra_columns: dict[str, object] | None = None,
    shuffle_seed: int | None = None,
    entry_order: Sequence[str] | None = None,
    trailing_sep: bool = True,
    start_id: int = 1,
    submitted: Iterable[datetime] | None = None,
) -> Path:
    """A Microsoft Forms export. `None` in `rows` writes a row with nothing in it;
    `header_map` rewrites header texts (original -> as written); `extra_columns` appends
    columns the form does not define (header -> value in every row). Unless a row sets them,
    IDs count from `start_id`, submission times come from `submitted` (else a second apart)
    and each respondent has their own fake name and e-mail address."""
    form = form or ministry_form()
    times = list(submitted) if submitted is not None else None
    email_header, name_header = PERSONAL_HEADERS
    table: list[MsFormsRow | None] = []
    n = -1
    for row in rows:
        if row is None:
            table.append(None)
            continue
        n += 1
        done = times[n] if times else datetime(2023, 11, 20, 10, 0, n % 60)
        table.append(
            MsFormsRow(
                id=row.get(ID_HEADER, start_id + n),
                started=row.get(STARTED_HEADER, done.replace(minute=0)),
                submitted=row.get(SUBMITTED_HEADER, done),
                email=row.get(email_header, f"taro.yamada{n}@example.go.jp"),
                name=row.get(name_header, f"山田 太郎{n}"),
                answers=row,  # the writer reads the form's columns only
                trailing_sep=trailing_sep,
            )
        )
    layout = Layout(
        entry_order=entry_order,
        shuffle_seed=shuffle_seed,
        drop_headers=drop_headers,
        header_suffix=header_suffix,
        header_map=header_map or {},
        extra_columns=extra_columns or {},
    )
    return write_export(path, msforms_xlsx_bytes(form, table, exported=EXPORTED, layout=layout))


def _google_rows(rows: Iterable[dict[str, object]]) -> list[GoogleFormsRow]:
    """Rows without a タイムスタンプ are stamped a second apart."""
    out = []
    for n, row in enumerate(rows):
        stamp = row.get(TIMESTAMP_HEADER)
        out.append(
            GoogleFormsRow(datetime(2023, 11, 20, 15, 4, n % 60) if stamp is None else stamp, row)
        )
    return out


def google_csv_text(
    rows: Iterable[dict[str, object]],
    form: Form | None = None,
    *,
    sep: str = SHEET_SEP,
    ampm: bool = False,
    drop_headers: tuple[str, ...] = (),
    header_map: dict[str, str] | None = None,
    shuffle_seed: int | None = None,
) -> str:
    """A Google Forms export as text; `ampm` stamps rows as the direct download does."""
    return googleforms_csv_text(
        form or hires_form(),
        _google_rows(rows),
        sep=sep,
        stamp=download_timestamp if ampm else sheet_timestamp,
        layout=Layout(
            drop_headers=drop_headers, header_map=header_map or {}, shuffle_seed=shuffle_seed
        ),
    )


def write_google_csv(
    path: Path,
    rows: Iterable[dict[str, object]],
    form: Form | None = None,
    *,
    encoding: str = "utf-8-sig",
    **kwargs: object,
) -> Path:
    return write_export(
        path,
        google_csv_text(rows, form, **kwargs).encode(encoding),  # type: ignore[arg-type]
    )


# A small form with a routing chain (screen -> q1 -> q1_why (checkbox) -> q1_cost) and a
# routed likert grid, loaded next to the deployed forms as an extra codebook folder.
TOY_FORM_YAML = """\
instrument: toy
wave: "2023"
title: テスト用フォーム
export: msforms_xlsx
fielded: {opens: "2023-11-08", closes: "2023-12-21", timezone: Asia/Tokyo}
scales:
  yes_no: [はい, いいえ]
  agree3: [そう思わない, どちらともいえない, そう思う]
entries:
  - id: org_name
    header: 府省等名
    type: text
    required: true
  - id: screen
    header: 対象ですか
    type: single
    scale: yes_no
    required: true
  - id: q1
    slide: 1
    title: 評価
    header: 評価はどうですか
    type: single
    options: [良い, 悪い]
    asked_if: {screen: はい}
  - id: q1_why
    slide: 1
    header: 悪い理由
    type: multi
    options: [費用, 時間, その他]
    asked_if: {q1: 悪い}
  - id: q1_cost
    slide: 1
    header: 費用の詳細
    type: single
    options: [高い, とても高い]
    asked_if: {q1_why: 費用}
  - id: q2
    slide: 2
    title: 印象
    type: likert
    scale: agree3
    asked_if: {screen: はい}
    items: [役に立つ, 分かりやすい]
  - id: q3
    slide: 3
    header: 全員への質問
    type: top3
    options: [ア, イ, ウ, エ]
"""


def toy_form(folder: Path) -> Form:
    """Write the toy form into `folder` and load it (with the deployed forms)."""
    from koryu_pipeline.codebook import load_codebook

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "toy_2023.yaml").write_text(TOY_FORM_YAML, encoding="utf-8")
    return load_codebook(folder).form("toy", "2023")


def assert_conserved(result, parsed) -> None:
    """Row conservation for a validate_wave result over the parsed exports `parsed`: per
    file, accepted + rejected = rows, both agreeing with the frames returned; a response
    accepted whole or rejected whole; every message naming its file (and row and rule)."""
    files = result.files.set_index("source_file")
    assert sorted(files.index) == sorted(p.source_file for p in parsed)
    for p in parsed:
        row = files.loc[p.source_file]
        assert row["rows"] == p.rows
        assert row["accepted"] + row["rejected"] == row["rows"], p.source_file
        n_accepted = int((result.accepted["source_file"] == p.source_file).sum())
        assert row["accepted"] == n_accepted
        mine = result.rejections[result.rejections["source_file"] == p.source_file]
        if p.problem is not None:
            assert row["file_rejected"] and row["accepted"] == 0
            assert len(mine) == 1 and pd.isna(mine["source_row"].iloc[0])
        else:
            assert not row["file_rejected"]
            assert mine["source_row"].nunique() == row["rejected"]
    # a response is accepted whole or rejected whole
    rejected = set(
        zip(result.rejections["source_file"], result.rejections["source_row"], strict=True)
    )
    accepted = set(zip(result.accepted["source_file"], result.accepted["source_row"], strict=True))
    assert not rejected & accepted
    # every message names its file, and a row's message its row and rule
    for rec in result.rejections.itertuples():
        assert rec.message.startswith(
            f"{rec.source_file}: "
            if pd.isna(rec.source_row)
            else f"{rec.source_file} row {rec.source_row}: {rec.rule}: "
        )
        assert rec.rule in rec.message


def assert_same_export(got: ParsedExport, want: ParsedExport) -> None:
    """Two reads of one export agree exactly: counts, encoding, problems, and the frame's
    columns, dtypes and very values (None / NaN, 1 / 1.0 and tuples as they are)."""
    assert (got.source_file, got.rows, got.encoding, got.problem) == (
        want.source_file,
        want.rows,
        want.encoding,
        want.problem,
    )
    assert got.row_problems == want.row_problems
    if want.frame is None:
        assert got.frame is None
        return
    assert got.frame is not None
    assert list(got.frame.columns) == list(want.frame.columns)
    assert got.frame.dtypes.to_dict() == want.frame.dtypes.to_dict()
    pd.testing.assert_frame_equal(got.frame, want.frame, check_exact=True)
    for column in want.frame.columns:
        assert [repr(v) for v in got.frame[column].tolist()] == [
            repr(v) for v in want.frame[column].tolist()
        ], column
