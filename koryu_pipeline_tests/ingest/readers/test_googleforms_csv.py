"""The Google Forms CSV reader, on real files in every encoding the export comes in."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.ingest.readers import read_export
from koryu_pipeline.ingest.readers.googleforms_csv import grid_header
from koryu_pipeline_tests.exports import base_hires, google_csv_text, hires_form, write_google_csv

SAT = "官民人事交流期間中の満足度について、当てはまるものを選択してください。"
WISHES = [
    "上司等との面談機会の充実",
    "公務員倫理等服務上の教育の機会付与（研修など）",
    "人事担当課における相談窓口の拡充",
]


def read(path: Path, raw: Path):
    return read_export(path, raw, get_codebook(), "hires", "2023")


def csv_file(raw: Path, rows, name: str = "export.csv", **kwargs) -> Path:
    return write_google_csv(raw / "hires" / "2023" / name, rows, **kwargs)


ROWS = [
    base_hires(),
    base_hires(age_band="50代以上", satisfaction_2="不満", support_wishes=WISHES),
]


@pytest.mark.parametrize(
    ("encoding", "detected"),
    [("utf-8-sig", "utf-8-sig"), ("utf-8", "utf-8"), ("cp932", "cp932")],
)
def test_every_encoding_reads_the_same(tmp_path, encoding, detected):
    raw = tmp_path / "raw"
    # the file name says nothing about the encoding: the bytes decide
    parsed = read(csv_file(raw, ROWS, "回答.csv", encoding=encoding), raw)
    assert parsed.problem is None
    assert parsed.encoding == detected
    assert parsed.rows == 2
    f = parsed.frame
    assert list(f.columns) == [
        "source_file",
        "source_row",
        "submitted_at",
        "response_key",
        *(x.column for x in hires_form().fields),
        "submitted_text",  # the submission cell when it is not a time: None here
    ]
    assert f["submitted_text"].isna().all()
    assert f["source_file"].tolist() == ["hires/2023/回答.csv"] * 2
    assert f["source_row"].tolist() == [2, 3]
    assert f.at[1, "age_band"] == "50代以上"
    assert f.at[1, "satisfaction_2"] == "不満"
    assert f.at[1, "support_wishes"] == (
        "上司等との面談機会の充実",
        "公務員倫理等服務上の教育の機会付与(研修など)",  # NFKC key
        "人事担当課における相談窓口の拡充",
    )
    assert f["submitted_at"].tolist() == [
        pd.Timestamp("2023-11-20 06:04:00", tz="UTC"),
        pd.Timestamp("2023-11-20 06:04:01", tz="UTC"),
    ]


def test_cp932_detected_from_bytes_not_name(tmp_path):
    raw = tmp_path / "raw"
    parsed = read(csv_file(raw, ROWS, "utf8_export.csv", encoding="cp932"), raw)
    assert parsed.encoding == "cp932"
    assert parsed.frame.at[0, "host_org_type"] == "府省"


def test_grid_headers(tmp_path):
    fields = {f.column: f for f in hires_form().fields}
    assert grid_header(fields["satisfaction_1"]) == f"{SAT} [業務内容]"
    assert grid_header(fields["age_band"]) == "あなたの年代"
    raw = tmp_path / "raw"
    header = google_csv_text([]).splitlines()[0]
    assert f"{SAT} [交流全体]" in header
    parsed = read(csv_file(raw, [base_hires(satisfaction_3="不満")]), raw)
    assert parsed.frame.at[0, "satisfaction_3"] == "不満"


@pytest.mark.parametrize("sep", [", ", ";"])
def test_checkbox_cells_joined_either_way(tmp_path, sep):
    raw = tmp_path / "raw"
    parsed = read(csv_file(raw, [base_hires(support_wishes=WISHES)], sep=sep), raw)
    assert len(parsed.frame.at[0, "support_wishes"]) == 3


def test_checkbox_cell_with_trailing_semicolon(tmp_path):
    raw = tmp_path / "raw"
    row = base_hires(support_wishes="上司等との面談機会の充実;特になし;")
    parsed = read(csv_file(raw, [row]), raw)
    assert parsed.frame.at[0, "support_wishes"] == ("上司等との面談機会の充実", "特になし")


@pytest.mark.parametrize(
    ("stamp", "utc"),
    [
        ("2023/11/20 15:04:05", "2023-11-20 06:04:05"),
        ("2023/11/20 3:04:05 午後 GMT+9", "2023-11-20 06:04:05"),
        ("2023/11/20 12:30:00 午前 GMT+9", "2023-11-19 15:30:00"),
        ("2023/11/20 12:30:00 午後 GMT+9", "2023-11-20 03:30:00"),
    ],
)
def test_timestamps(tmp_path, stamp, utc):
    raw = tmp_path / "raw"
    parsed = read(csv_file(raw, [base_hires(タイムスタンプ=stamp)]), raw)
    assert parsed.frame.at[0, "submitted_at"] == pd.Timestamp(utc, tz="UTC")


def test_ampm_export_reads_like_24_hour_one(tmp_path):
    raw = tmp_path / "raw"
    a = read(csv_file(raw, ROWS, "a.csv"), raw).frame
    b = read(csv_file(raw, ROWS, "b.csv", ampm=True), raw).frame
    assert a["submitted_at"].tolist() == b["submitted_at"].tolist()
    assert a["response_key"].tolist() == b["response_key"].tolist()


def test_unreadable_timestamp_is_kept_for_validation(tmp_path):
    raw = tmp_path / "raw"
    parsed = read(csv_file(raw, [base_hires(タイムスタンプ="昨日の午後")]), raw)
    assert parsed.rows == 1
    assert pd.isna(parsed.frame.at[0, "submitted_at"])


def test_columns_matched_by_header_text(tmp_path):
    raw = tmp_path / "raw"
    plain = read(csv_file(raw, ROWS, "a.csv"), raw).frame
    shuffled_path = csv_file(raw, ROWS, "b.csv", shuffle_seed=11)
    assert not shuffled_path.read_text(encoding="utf-8-sig").startswith("タイムスタンプ")
    shuffled = read(shuffled_path, raw).frame
    pd.testing.assert_frame_equal(
        shuffled.drop(columns="source_file"), plain.drop(columns="source_file")
    )


def test_nfkc_and_spaces_in_headers_and_cells(tmp_path):
    raw = tmp_path / "raw"
    row = base_hires(
        host_org_type=" 府省",
        age_band="３０代",
        industry="金融･保険業",  # half-width middle dot
        support_wishes=["ﾒﾝﾀｰの割り当てなどによる同僚からの支援の充実 "],
    )
    header_map = {"あなたの年代": "あなたの年代 ", f"{SAT} [業務内容]": f"{SAT}  [業務内容] "}
    parsed = read(csv_file(raw, [row], header_map=header_map), raw)
    assert parsed.problem is None
    rec = parsed.frame.iloc[0]
    assert (rec["host_org_type"], rec["age_band"], rec["industry"]) == (
        "府省",
        "30代",
        "金融・保険業",
    )
    assert rec["support_wishes"] == ("メンターの割り当てなどによる同僚からの支援の充実",)
    assert rec["satisfaction_1"] == "満足"


def test_empty_rows_are_ignored(tmp_path):
    raw = tmp_path / "raw"
    path = raw / "hires" / "2023" / "export.csv"
    path.parent.mkdir(parents=True)
    text = google_csv_text(ROWS)
    lines = text.split("\r\n")
    width = len(hires_form().fields) + 1
    text = "\r\n".join([lines[0], lines[1], "", "," * (width - 1), " , ", lines[2], ""])
    path.write_text(text, encoding="utf-8")
    parsed = read(path, raw)
    assert parsed.rows == 2
    assert parsed.frame["source_row"].tolist() == [2, 6]


def test_missing_column(tmp_path):
    raw = tmp_path / "raw"
    path = csv_file(raw, ROWS, drop_headers=(f"{SAT} [交流全体]",))
    parsed = read(path, raw)
    assert parsed.frame is None and parsed.rows == 2
    assert parsed.problem.rule == "missing_column"
    assert parsed.problem.column == f"{SAT} [交流全体]"
    assert parsed.problem.message.startswith("hires/2023/export.csv: ")


def test_missing_timestamp_column(tmp_path):
    raw = tmp_path / "raw"
    parsed = read(csv_file(raw, ROWS, drop_headers=("タイムスタンプ",)), raw)
    assert parsed.problem.rule == "missing_column"
    assert parsed.problem.column == "タイムスタンプ"


@pytest.mark.parametrize(
    "content",
    [
        "タイムスタンプ,府省\r\n".encode() + b"\x81\x20\xff\r\n",  # neither UTF-8 nor CP932
        b"\xef\xbb\xbf" + "タイムスタンプ,府省\r\n".encode() + b"\xff\xfe\r\n",  # BOM, then junk
        b"",
    ],
)
def test_undecodable_or_empty_file_is_unreadable(tmp_path, content):
    raw = tmp_path / "raw"
    path = raw / "hires" / "2023" / "bad.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    parsed = read(path, raw)
    assert parsed.frame is None and parsed.rows == 0
    assert parsed.problem.rule == "unreadable_file"
    assert parsed.problem.message.startswith("hires/2023/bad.csv: ")


def test_anonymous_response_key_is_time_plus_answers(tmp_path):
    raw = tmp_path / "raw"
    f = read(csv_file(raw, ROWS), raw).frame
    assert f.at[0, "response_key"].startswith("at=2023-11-20T06:04:00+00:00|host_org_type=府省|")
    assert f.at[0, "response_key"] != f.at[1, "response_key"]


def test_wave_without_a_form_still_counts_rows(tmp_path):
    raw = tmp_path / "raw"
    path = write_google_csv(
        raw / "hires" / "2031" / "x.csv", [*ROWS, base_hires()], encoding="cp932"
    )
    parsed = read_export(path, raw, get_codebook(), "hires", "2031")
    assert parsed.problem.rule == "no_form"
    assert parsed.rows == 3


# ------------------------------------------------------------------ files as people save them


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_tab_separated_as_excel_saves_unicode_text(tmp_path, encoding):
    """Excel's "Unicode text": UTF-16 (with the BOM FF FE; without one from other tools),
    tab-separated, and a cell that holds a tab quoted."""
    raw = tmp_path / "raw"
    text = google_csv_text(ROWS, sep=";")
    table = [line.split(",") for line in text.split("\r\n") if line]
    body = "\r\n".join("\t".join(cells) for cells in table) + "\r\n"
    path = raw / "hires" / "2023" / "unicode.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(body.encode(encoding))
    parsed = read(path, raw)
    assert parsed.problem is None and parsed.rows == 2
    assert parsed.encoding == ("utf-16" if encoding == "utf-16" else encoding)
    plain = read(csv_file(raw, ROWS, "plain.csv", sep=";"), raw).frame
    pd.testing.assert_frame_equal(
        parsed.frame.drop(columns="source_file"), plain.drop(columns="source_file")
    )


def test_header_below_blank_and_title_rows(tmp_path):
    raw = tmp_path / "raw"
    path = raw / "hires" / "2023" / "export.csv"
    path.parent.mkdir(parents=True)
    path.write_text(
        "\r\n,,,\r\n交流採用者アンケート 回答\r\n" + google_csv_text(ROWS), encoding="utf-8"
    )
    parsed = read(path, raw)
    assert parsed.problem is None and parsed.rows == 2  # not the header counted as data
    assert parsed.frame["source_row"].tolist() == [5, 6]  # as a spreadsheet numbers them


def _broken(lines: list[str], at: int) -> list[str]:
    """Line `at` with a quote opened before its second cell and never closed."""
    first, rest = lines[at].split(",", 1)
    return [*lines[:at], f'{first},"{rest}', *lines[at + 1 :]]


def test_an_unterminated_quote_is_one_malformed_row_not_a_merge(tmp_path):
    raw = tmp_path / "raw"
    many = [base_hires(support_wishes=WISHES[:2]) for _ in range(6)]  # quoted ", " cells
    lines = google_csv_text(many).split("\r\n")
    for at in (1, 3, 6):  # the first, a middle and the last data row
        path = raw / "hires" / "2023" / f"broken{at}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\r\n".join(_broken(lines, at)), encoding="utf-8")
        parsed = read(path, raw)
        assert parsed.rows == 6, at  # the file's own count: nothing merged
        assert len(parsed.frame) == 5
        (problem,) = parsed.row_problems
        assert (problem.source_row, problem.rule) == (at + 1, "malformed_row")
        assert problem.message.startswith(f"line {at + 1}: a quote")
        assert at + 1 not in parsed.frame["source_row"].tolist()


def test_text_after_a_closing_quote_is_a_malformed_row(tmp_path):
    raw = tmp_path / "raw"
    lines = google_csv_text(ROWS).split("\r\n")
    first, rest = lines[2].split(",", 1)
    lines[2] = f'{first},"府省"x,{rest.split(",", 1)[1]}'
    path = raw / "hires" / "2023" / "x.csv"
    path.parent.mkdir(parents=True)
    path.write_text("\r\n".join(lines), encoding="utf-8")
    parsed = read(path, raw)
    assert parsed.rows == 2 and parsed.frame["source_row"].tolist() == [2]
    assert [(p.source_row, p.rule) for p in parsed.row_problems] == [(3, "malformed_row")]


def test_a_quoted_cell_with_line_breaks_is_one_row(tmp_path):
    raw = tmp_path / "raw"
    rows = [base_hires(industry="製造業\r\nです"), base_hires(), base_hires(age_band="40代")]
    parsed = read(csv_file(raw, rows), raw)
    assert parsed.rows == 3 and not parsed.row_problems
    assert parsed.frame["source_row"].tolist() == [2, 3, 4]
    assert parsed.frame.at[0, "industry"] == "製造業 です"  # folded; rejected by validation


def test_many_stray_quotes_cost_a_bounded_reread(tmp_path):
    """Every row opening a quote it never closes: each is reported, none swallows the rest."""
    raw = tmp_path / "raw"
    lines = google_csv_text([base_hires() for _ in range(2000)]).split("\r\n")
    for at in range(1, 2001):
        lines = _broken(lines, at)
    path = raw / "hires" / "2023" / "x.csv"
    path.parent.mkdir(parents=True)
    path.write_text("\r\n".join(lines), encoding="utf-8")
    parsed = read(path, raw)
    assert parsed.rows == 2000 and len(parsed.row_problems) == 2000 and parsed.frame.empty


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "cp932"])
def test_a_damaged_byte_costs_its_row_not_the_file(tmp_path, encoding):
    raw = tmp_path / "raw"
    rows = [base_hires(age_band="40代") for _ in range(40)]
    data = bytearray(csv_file(raw, rows, "x.csv", encoding=encoding).read_bytes())
    at = data.index("40代".encode(encoding.removesuffix("-sig")), len(data) // 2)
    data[at : at + 1] = b"\x81"  # one byte of a row's age band lost: valid in neither
    (raw / "hires" / "2023" / "x.csv").write_bytes(bytes(data))
    parsed = read(raw / "hires" / "2023" / "x.csv", raw)
    assert parsed.problem is None and parsed.rows == 40
    assert "1 undecodable characters replaced" in parsed.encoding
    bad = parsed.frame[parsed.frame["age_band"] != "40代"]
    assert len(bad) == 1 and "\ufffd" in bad["age_band"].iloc[0]  # an unknown option


def test_a_workbook_named_csv_is_unreadable(tmp_path):
    from koryu_pipeline_tests.exports import base_ministry, write_msforms_xlsx

    raw = tmp_path / "raw"
    path = write_msforms_xlsx(raw / "hires" / "2023" / "export.csv", [base_ministry()])
    parsed = read(path, raw)
    assert parsed.problem.rule == "unreadable_file" and parsed.rows == 0
    assert "a zip archive (an .xlsx workbook?)" in parsed.problem.message


def test_a_personal_column_is_read_only_to_scrub_other_cells(tmp_path):
    """A form that collects addresses and names: the columns never reach the frame, and a
    respondent's name typed into an answer is scrubbed."""
    from koryu_pipeline.warehouse.personal import MARKER

    raw = tmp_path / "raw"
    lines = google_csv_text([base_hires(), base_hires(industry="鈴木　一郎")]).split("\r\n")
    extra = ["メールアドレス,お名前", "a@example.jp,鈴木 一郎", "b@example.jp,佐藤 花子"]
    path = raw / "hires" / "2023" / "x.csv"
    path.parent.mkdir(parents=True)
    path.write_text(
        "\r\n".join(f"{line},{e}" for line, e in zip(lines, extra, strict=False)) + "\r\n",
        encoding="utf-8",
    )
    parsed = read(path, raw)
    assert parsed.problem is None and parsed.rows == 2
    assert parsed.frame.at[1, "industry"] == MARKER
    text = [str(v) for v in parsed.frame.to_numpy().ravel()]
    assert not any("example.jp" in t or "鈴木" in t or "佐藤" in t for t in text)
    assert not any("メール" in c or "名前" in c for c in parsed.frame.columns)
