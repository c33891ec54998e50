"""The Microsoft Forms .xlsx reader, on real workbooks written with openpyxl."""

from __future__ import annotations

import zipfile
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.ingest.readers import discover, export_files, read_export
from koryu_pipeline.ingest.readers.msforms_xlsx import read_msforms_xlsx
from koryu_pipeline_tests.exports import (
    base_ministry,
    blank_ministry,
    ministry_form,
    write_msforms_xlsx,
)

Q01_1 = "民間との相互理解の促進を図るため"  # heads q01_1 and q09_3
S_DISPATCH = (
    "令和3年11月1日以降において、交流派遣により、職員が民間企業に在籍していたことがありますか。"
)


def read(path: Path, raw: Path):
    return read_export(path, raw, get_codebook(), "ministry", "2023")


def xlsx(raw: Path, rows, name: str = "export.xlsx", **kwargs) -> Path:
    return write_msforms_xlsx(raw / "ministry" / "2023" / name, rows, **kwargs)


def both_routes(**over):
    return base_ministry(
        s_dispatch="はい",
        s_hire="はい",
        q01_1="よく当てはまる",
        q01_2="やや当てはまる",
        q09_1="当てはまらない",
        q09_3="どちらともいえない",
        q04=[
            "派遣先企業での業務が派遣の目的と合わなかった",
            "派遣職員本人の意欲や適性に課題があった",
        ],
        q13=["上司等との面談機会の充実"],
        **over,
    )


def test_reads_a_plain_export(tmp_path):
    raw = tmp_path / "raw"
    path = xlsx(
        raw,
        [base_ministry(), both_routes(org_name="B省")],
        submitted=[datetime(2023, 11, 20, 10, 0), datetime(2023, 12, 21, 23, 59, 59)],
    )
    parsed = read(path, raw)
    assert parsed.problem is None
    assert (parsed.source_file, parsed.rows) == ("ministry/2023/export.xlsx", 2)
    frame = parsed.frame
    assert list(frame.columns) == [
        "source_file",
        "source_row",
        "submitted_at",
        "response_key",
        *(f.column for f in ministry_form().fields),
        "submitted_text",
    ]
    assert frame["source_row"].tolist() == [2, 3]  # the row numbers Excel shows
    # Excel date-times are Tokyo local time; the frame holds UTC
    assert frame["submitted_at"].tolist() == [
        pd.Timestamp("2023-11-20 01:00", tz="UTC"),
        pd.Timestamp("2023-12-21 14:59:59", tz="UTC"),
    ]
    assert frame["response_key"].tolist() == [
        "id=1|at=2023-11-20T01:00:00+00:00",
        "id=2|at=2023-12-21T14:59:59+00:00",
    ]
    b = frame.iloc[1]
    assert (b["org_name"], b["s_dispatch"], b["q01_1"], b["q09_3"]) == (
        "B省",
        "はい",
        "よく当てはまる",
        "どちらともいえない",
    )
    assert b["q04"] == (
        "派遣先企業での業務が派遣の目的と合わなかった",
        "派遣職員本人の意欲や適性に課題があった",
    )
    assert b["q13"] == ("上司等との面談機会の充実",)
    a = frame.iloc[0]
    assert pd.isna(a["q01_1"]) and pd.isna(a["q04"]) and pd.isna(a["personnel_line"])


def _no_personal_data(frame: pd.DataFrame) -> None:
    assert not any("メール" in c or "名前" in c for c in frame.columns)
    text = [str(v) for v in frame.to_numpy().ravel()]
    assert not any("example.go.jp" in t or "山田" in t for t in text)


def test_personal_columns_never_reach_the_frame(tmp_path):
    raw = tmp_path / "raw"
    parsed = read(xlsx(raw, [base_ministry(), base_ministry(org_name="B省")]), raw)
    _no_personal_data(parsed.frame)


def test_columns_are_matched_by_header_text_not_position(tmp_path):
    raw = tmp_path / "raw"
    rows = [
        both_routes(),
        base_ministry(org_name="B省", q17_traits=["その他", "主体性・積極性がある"]),
    ]
    plain = read(xlsx(raw, rows, "plain.xlsx"), raw).frame
    shuffled_path = xlsx(raw, rows, "shuffled.xlsx", shuffle_seed=7)
    from openpyxl import load_workbook

    header = [c.value for c in load_workbook(shuffled_path).active[1]]
    assert header[:5] != ["ID", "開始時刻", "完了時刻", "メール", "名前"]  # really shuffled
    shuffled = read(shuffled_path, raw).frame
    pd.testing.assert_frame_equal(
        shuffled.drop(columns="source_file"), plain.drop(columns="source_file")
    )
    _no_personal_data(shuffled)


def test_shared_likert_item_text_resolved_by_order_of_appearance(tmp_path):
    raw = tmp_path / "raw"
    frame = read(xlsx(raw, [both_routes()]), raw).frame
    # the first column headed by the text is q01's item, the second q09's
    assert frame.at[0, "q01_1"] == "よく当てはまる"
    assert frame.at[0, "q09_3"] == "どちらともいえない"


def test_shared_likert_item_text_follows_its_block_when_questions_move(tmp_path):
    """Questions reordered in the form (the hiring block first): q09's columns now come
    before q01's, and the shared item text still goes to the question around it."""
    raw = tmp_path / "raw"
    path = xlsx(raw, [both_routes()], entry_order=["q09", "q10", "q01", "q02"])
    from openpyxl import load_workbook

    header = [c.value for c in load_workbook(path).active[1]]
    positions = [i for i, h in enumerate(header) if h == Q01_1]
    assert header[positions[0] - 2] == "自組織の組織活性化を図るため"  # q09's block is first
    frame = read(path, raw).frame
    assert frame.at[0, "q01_1"] == "よく当てはまる"
    assert frame.at[0, "q09_3"] == "どちらともいえない"
    assert frame.at[0, "q09_1"] == "当てはまらない"


@pytest.mark.parametrize("trailing", [True, False])
def test_multi_cells_with_and_without_trailing_separator(tmp_path, trailing):
    raw = tmp_path / "raw"
    row = base_ministry(
        s_dispatch="はい", q06=["役職段階", "年齢", "その他"], q17_traits=["その他"]
    )
    frame = read(xlsx(raw, [row], trailing_sep=trailing), raw).frame
    assert frame.at[0, "q06"] == ("役職段階", "年齢", "その他")
    assert frame.at[0, "q17_traits"] == ("その他",)


def test_nfkc_and_stray_spaces_still_match(tmp_path):
    raw = tmp_path / "raw"
    row = base_ministry(
        org_type="府省 ",  # trailing space in a label
        s_dispatch="　はい",  # ideographic space
        q07="更なる交流派遣には消極的である(交流派遣を縮小したい)",  # half-width brackets
        q07_reasons=["ｿﾉ他".replace("ｿﾉ", "その"), " 職員の人員不足で交流派遣をする余裕がない "],
        q08_age="３０代",  # full-width digits
        q17_traits=["ｺﾐｭﾆｹｰｼｮﾝ能力が高い", "主体性・積極性がある"],  # half-width katakana
        q01_1="よく当てはまる",
    )
    header_map = {
        "組織区分": "組織区分 ",  # trailing space in a header
        S_DISPATCH: S_DISPATCH.replace("3年11月1日", "３年１１月１日"),  # full-width digits
        "名前": "名前 ",
    }
    parsed = read(xlsx(raw, [row], header_map=header_map, header_suffix=""), raw)
    assert parsed.problem is None
    rec = parsed.frame.iloc[0]
    assert rec["org_type"] == "府省"
    assert rec["s_dispatch"] == "はい"
    assert rec["q07"] == "更なる交流派遣には消極的である(交流派遣を縮小したい)"
    assert rec["q07_reasons"] == ("その他", "職員の人員不足で交流派遣をする余裕がない")
    assert rec["q08_age"] == "30代"
    assert rec["q17_traits"] == ("コミュニケーション能力が高い", "主体性・積極性がある")
    # each is a key of the form's options (the verbatim label comes back in the facts)
    form = ministry_form()
    assert rec["q07"] in form.entry("q07").option_by_key
    assert all(v in form.entry("q17_traits").option_by_key for v in rec["q17_traits"])
    _no_personal_data(parsed.frame)


def test_headers_with_a_trailing_space_everywhere(tmp_path):
    raw = tmp_path / "raw"
    parsed = read(xlsx(raw, [both_routes()], header_suffix=" "), raw)
    assert parsed.problem is None
    assert parsed.frame.at[0, "q09_3"] == "どちらともいえない"


def test_date_time_cells_in_other_shapes(tmp_path):
    """An Excel serial number or a text date-time (a re-saved file) is Tokyo time too."""
    raw = tmp_path / "raw"
    rows = [
        base_ministry(完了時刻=45250.5),  # 2023-11-20 12:00 JST
        base_ministry(完了時刻="2023/11/20 12:00:00"),
        base_ministry(完了時刻=datetime(2023, 11, 20, 0, 30)),  # just after midnight JST
        base_ministry(完了時刻="いつか"),
    ]
    frame = read(xlsx(raw, rows), raw).frame
    assert frame["submitted_at"].tolist()[:3] == [
        pd.Timestamp("2023-11-20 03:00", tz="UTC"),
        pd.Timestamp("2023-11-20 03:00", tz="UTC"),
        pd.Timestamp("2023-11-19 15:30", tz="UTC"),
    ]
    assert frame.at[3, "submitted_at"] is None or pd.isna(frame.at[3, "submitted_at"])


def test_empty_rows_are_ignored_but_row_numbers_kept(tmp_path):
    raw = tmp_path / "raw"
    blank = blank_ministry()
    rows = [base_ministry(), None, base_ministry(org_name="B省"), blank, None]
    parsed = read(xlsx(raw, rows), raw)
    assert parsed.rows == 2
    assert parsed.frame["source_row"].tolist() == [2, 4]
    assert parsed.frame["org_name"].tolist() == ["テスト省", "B省"]


def test_extra_unknown_columns_are_ignored(tmp_path):
    raw = tmp_path / "raw"
    extras = {"備考": "メモ", "合計ポイント": 3, "": "x"}
    parsed = read(xlsx(raw, [base_ministry()], extra_columns=extras, shuffle_seed=3), raw)
    assert parsed.problem is None
    assert "備考" not in parsed.frame.columns
    assert "メモ" not in [str(v) for v in parsed.frame.to_numpy().ravel()]


def test_missing_answer_column_rejects_the_file(tmp_path):
    raw = tmp_path / "raw"
    parsed = read(xlsx(raw, [base_ministry(), base_ministry()], drop_headers=("組織区分",)), raw)
    assert parsed.frame is None
    assert parsed.rows == 2
    assert parsed.problem.rule == "missing_column"
    assert parsed.problem.column == "組織区分"
    assert "ministry/2023/export.xlsx" in parsed.problem.message
    assert "「組織区分」" in parsed.problem.message


def test_missing_shared_item_column_is_reported(tmp_path):
    """Only one column headed by the shared item text: one of q01_1/q09_3 is missing."""
    raw = tmp_path / "raw"
    path = xlsx(raw, [base_ministry()])
    from openpyxl import load_workbook

    wb = load_workbook(path)
    ws = wb.active
    col = [c.value for c in ws[1]].index(Q01_1) + 1
    ws.delete_cols(col)
    wb.save(path)
    parsed = read(path, raw)
    assert parsed.problem.rule == "missing_column"
    assert parsed.problem.column == Q01_1


def test_missing_submission_time_column(tmp_path):
    raw = tmp_path / "raw"
    parsed = read(xlsx(raw, [base_ministry()], drop_headers=("完了時刻",)), raw)
    assert parsed.problem.rule == "missing_column"
    assert parsed.problem.column == "完了時刻"


def test_many_missing_columns_are_summarised(tmp_path):
    raw = tmp_path / "raw"
    drop = tuple(f.header for f in ministry_form().fields[:8])
    parsed = read(xlsx(raw, [base_ministry()], drop_headers=drop), raw)
    assert parsed.problem.rule == "missing_column"
    assert parsed.problem.column == "府省等名"
    assert "more)" in parsed.problem.message


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\x01garbage\xff" * 100,  # random bytes
        b"",  # an empty file
    ],
)
def test_corrupt_workbook_is_unreadable(tmp_path, content):
    raw = tmp_path / "raw"
    path = raw / "ministry" / "2023" / "broken.xlsx"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    parsed = read(path, raw)
    assert parsed.frame is None and parsed.rows == 0
    assert parsed.problem.rule == "unreadable_file"
    assert parsed.problem.column is None
    assert parsed.problem.message.startswith("ministry/2023/broken.xlsx: ")


def _damaged(tmp_path: Path, member: str, data: bytes) -> tuple[Path, Path]:
    """A real export with one part of the workbook replaced by `data`."""
    raw = tmp_path / "raw"
    good = xlsx(tmp_path / "good", [base_ministry()])
    path = raw / "ministry" / "2023" / "damaged.xlsx"
    path.parent.mkdir(parents=True)
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(path, "w") as zout:
        for item in zin.infolist():
            zout.writestr(item, data if item.filename == member else zin.read(item.filename))
    return path, raw


@pytest.mark.parametrize(
    ("member", "data"),
    [
        # the sheet's XML cut off: read-only workbooks parse it only while rows are read
        ("xl/worksheets/sheet1.xml", b"<worksheet><sheetData><row r='1'><c r='A1'><v>1</v></c>"),
        ("xl/workbook.xml", b"<not xml"),
        ("[Content_Types].xml", b"garbage"),
    ],
)
def test_damaged_workbook_parts_are_unreadable(tmp_path, member, data):
    path, raw = _damaged(tmp_path, member, data)
    parsed = read(path, raw)
    assert parsed.problem.rule == "unreadable_file"
    assert parsed.problem.message.startswith("ministry/2023/damaged.xlsx: ")


def test_truncated_download_is_unreadable(tmp_path):
    raw = tmp_path / "raw"
    good = xlsx(raw, [base_ministry()] * 20, "full.xlsx").read_bytes()
    path = raw / "ministry" / "2023" / "truncated.xlsx"
    for cut in (len(good) // 3, len(good) - 200):
        path.write_bytes(good[:cut])
        assert read(path, raw).problem.rule == "unreadable_file"


def test_zip_that_is_not_a_workbook_is_unreadable(tmp_path):
    raw = tmp_path / "raw"
    path = raw / "ministry" / "2023" / "notes.xlsx"
    path.parent.mkdir(parents=True)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    assert read(path, raw).problem.rule == "unreadable_file"


def test_empty_sheet_is_unreadable(tmp_path):
    raw = tmp_path / "raw"
    path = raw / "ministry" / "2023" / "empty.xlsx"
    path.parent.mkdir(parents=True)
    Workbook().save(path)
    parsed = read(path, raw)
    assert parsed.problem.rule == "unreadable_file"


def test_header_only_export_has_no_rows(tmp_path):
    raw = tmp_path / "raw"
    parsed = read(xlsx(raw, []), raw)
    assert parsed.problem is None and parsed.rows == 0 and parsed.frame.empty


def test_reader_called_directly(tmp_path):
    path = xlsx(tmp_path, [base_ministry()])
    parsed = read_msforms_xlsx(path.read_bytes(), "x.xlsx", ministry_form())
    assert parsed.frame.at[0, "source_file"] == "x.xlsx"


def test_export_files_and_discover(tmp_path):
    raw = tmp_path / "raw"
    xlsx(raw, [base_ministry()], "b.xlsx")
    xlsx(raw, [base_ministry()], "A.XLSX")
    folder = raw / "ministry" / "2023"
    (folder / "~$b.xlsx").write_bytes(b"lock")
    (folder / ".hidden.xlsx").write_bytes(b"x")
    (folder / "readme.txt").write_text("x")
    (raw / "hires" / "2023").mkdir(parents=True)
    (raw / "hires" / "2024").mkdir(parents=True)
    # every file is listed (read_export says which are not read), sub-folders are not
    (folder / "old").mkdir()
    assert [p.name for p in export_files(raw, "ministry", "2023")] == [
        ".hidden.xlsx",
        "A.XLSX",
        "b.xlsx",
        "readme.txt",
        "~$b.xlsx",
    ]
    assert export_files(raw, "ministry", "2099") == []
    assert discover(raw) == {"2023": ["hires", "ministry"], "2024": ["hires"]}
    assert discover(tmp_path / "nowhere") == {}


def test_wave_without_a_form(tmp_path):
    raw = tmp_path / "raw"
    path = write_msforms_xlsx(raw / "ministry" / "2031" / "x.xlsx", [base_ministry()])
    parsed = read_export(path, raw, get_codebook(), "ministry", "2031")
    assert parsed.problem.rule == "no_form"
    assert "ministry_2031.yaml" in parsed.problem.message
    assert parsed.rows == 1  # counted all the same: rows = rejected rows


# ------------------------------------------------------------------ workbooks as people save them


def test_header_below_blank_and_title_rows(tmp_path):
    from openpyxl import load_workbook

    raw = tmp_path / "raw"
    path = xlsx(raw, [base_ministry(), base_ministry(org_name="B省")])
    wb = load_workbook(path)
    wb.active.insert_rows(1, amount=3)
    wb.active["A2"] = "各府省等アンケート 回答一覧"  # a title row above the header
    wb.save(path)
    parsed = read(path, raw)
    assert parsed.problem is None and parsed.rows == 2  # the header is not data
    assert parsed.frame["source_row"].tolist() == [5, 6]  # as Excel shows them
    assert parsed.frame["org_name"].tolist() == ["テスト省", "B省"]


def test_responses_on_another_sheet_are_read(tmp_path):
    from openpyxl import load_workbook

    raw = tmp_path / "raw"
    path = xlsx(raw, [base_ministry(), base_ministry(org_name="B省")])
    wb = load_workbook(path)
    wb.active.title = "Form1"
    notes = wb.create_sheet("メモ", 0)  # a first sheet someone added
    notes["A1"], notes["A2"] = "集計メモ", "ID"
    wb.create_sheet("空")
    wb.save(path)
    parsed = read(path, raw)
    assert parsed.problem is None and parsed.rows == 2
    assert parsed.frame["org_name"].tolist() == ["テスト省", "B省"]


def test_no_sheet_with_the_forms_columns_names_the_sheets(tmp_path):
    from openpyxl import load_workbook

    raw = tmp_path / "raw"
    path = xlsx(raw, [base_ministry()] * 3, drop_headers=("組織区分",))
    wb = load_workbook(path)
    wb.create_sheet("Sheet2")["A1"] = "x"
    wb.save(path)
    parsed = read(path, raw)
    assert parsed.problem.rule == "missing_column" and parsed.rows == 3
    assert "「組織区分」" in parsed.problem.message
    assert "read sheet 「Sheet1」 of 「Sheet1」、「Sheet2」" in parsed.problem.message


def test_a_workbook_with_nothing_on_any_sheet(tmp_path):
    from openpyxl import Workbook

    raw = tmp_path / "raw"
    path = raw / "ministry" / "2023" / "empty.xlsx"
    path.parent.mkdir(parents=True)
    wb = Workbook()
    wb.create_sheet("Sheet2")
    wb.save(path)
    parsed = read(path, raw)
    assert parsed.problem.rule == "unreadable_file" and parsed.rows == 0
    assert "no rows on any sheet" in parsed.problem.message
