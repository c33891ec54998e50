"""The .xlsx reader's two ways of reading cells, side by side: python-calamine (the fast path)
must give exactly what openpyxl gives, or refuse (`NotExact`) so that openpyxl reads the file.
Real workbooks only: written with openpyxl (the demo's writer) and xlsxwriter (shared strings,
as Excel saves them), then edited in their XML as other tools and careless hands leave them."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from datetime import datetime, time, timedelta

import numpy as np
import pandas as pd
import pytest
import xlsxwriter
from openpyxl import Workbook, load_workbook
from python_calamine import CalamineWorkbook

from benchmarks import scale_exports as gen
from koryu_pipeline.codebook import Form, normalise_text
from koryu_pipeline.ingest.readers.msforms_xlsx import (
    _META,
    NotExact,
    _choose_sheet,
    _loosely,
    _timestamp,
    _workbook,
    calamine_cells,
    calamine_format,
    distinct,
    openpyxl_cells,
    read_msforms_xlsx,
    stamps_and_keys,
)
from koryu_pipeline.ingest.readers.normalise import EARLIEST, LATEST
from koryu_pipeline_tests.exports import (
    assert_same_export,
    base_ministry,
    blank_ministry,
    ministry_form,
    write_msforms_xlsx,
)


def typed(columns: list[list[object]], verbatim: int) -> list[list[tuple[type, object]]]:
    """Each cell with its type; after the first `verbatim` columns, text without white space
    at its ends and an empty text as an empty cell (as `calamine_cells` allows)."""
    return [
        [(type(v), v) for v in col] if n < verbatim else [_loosely(v) for v in col]
        for n, col in enumerate(columns)
    ]


def cells_both_ways(data: bytes, verbatim: int = 2) -> str | None:
    """Every column of the chosen sheet read by both (ID and 完了時刻 first, as the reader
    asks): equal, with their types; or calamine's refusal (its reason)."""
    form = ministry_form()
    known = _META | {normalise_text(f.header) for f in form.fields}
    with _workbook(data) as wb:
        ws, header_at, headers = _choose_sheet(wb, known)
        first = [headers.index("ID"), headers.index("完了時刻")][:verbatim]
        rest = [i for i in range(len(headers)) if i not in first]
        indices = [*first, *rest, len(headers) + 3]  # and one past the last column
        want = openpyxl_cells(ws, header_at, indices)
        try:
            got = calamine_cells(data, wb, ws, header_at, indices, verbatim=verbatim)
        except NotExact as exc:
            return str(exc)
    assert got[0] == want[0]
    assert typed(got[1], verbatim) == typed(want[1], verbatim)
    return None


def read_both_ways(data: bytes, form: Form | None = None) -> str | None:
    """The reader's result with calamine where it can (the pipeline's way) is the result with
    openpyxl only; returns why calamine was refused, None when it read the file."""
    form = form or ministry_form()
    fast = read_msforms_xlsx(data, "ministry/2023/x.xlsx", form)
    slow = read_msforms_xlsx(data, "ministry/2023/x.xlsx", form, engine="openpyxl")
    assert_same_export(fast, slow)
    try:
        read_msforms_xlsx(data, "ministry/2023/x.xlsx", form, engine="calamine")
    except NotExact as exc:
        return str(exc)
    return None


def export(tmp_path, rows, **kwargs) -> bytes:
    return write_msforms_xlsx(tmp_path / "x.xlsx", rows, **kwargs).read_bytes()


def both_routes(**over: object) -> dict[str, object]:
    return base_ministry(
        s_dispatch="はい",
        s_hire="はい",
        q01_1="よく当てはまる",
        q09_3="どちらともいえない",
        q04=["派遣先企業での業務が派遣の目的と合わなかった", "その他"],
        **over,
    )


def edit_workbook(data: bytes, edit: Callable[[Workbook], None]) -> bytes:
    wb = load_workbook(io.BytesIO(data))
    edit(wb)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def edit_xml(data: bytes, edit: Callable[[str], str], part: str = "xl/worksheets/sheet1.xml"):
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        parts = {i.filename: z.read(i.filename) for i in z.infolist()}
    parts[part] = edit(parts[part].decode("utf-8")).encode("utf-8")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in parts.items():
            z.writestr(name, content)
    return out.getvalue()


def replace_cell(data: bytes, ref: str, cell: str) -> bytes:
    def edit(xml: str) -> str:
        new, n = re.subn(rf'<c r="{ref}"[^>]*>.*?</c>', lambda _: cell.format(ref=ref), xml)
        assert n == 1
        return new

    return edit_xml(data, edit)


def via_xlsxwriter(data: bytes, *, inline: bool = False) -> bytes:
    """The same workbook written again by xlsxwriter: shared strings (or inline strings in
    its constant-memory mode), its own styles, Excel's date format."""
    source = load_workbook(io.BytesIO(data))
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"constant_memory": inline, "in_memory": True})
    stamp = book.add_format({"num_format": "yyyy/m/d h:mm"})
    for ws in source.worksheets:
        sheet = book.add_worksheet(ws.title)
        for r, row in enumerate(ws.iter_rows(values_only=True)):
            for c, value in enumerate(row):
                if isinstance(value, datetime):
                    sheet.write_datetime(r, c, value, stamp)
                elif value is not None:
                    sheet.write(r, c, value)
    book.close()
    return out.getvalue()


# --------------------------------------------------------------------------- Forms' exports


@pytest.fixture(scope="module")
def plain_exports(tmp_path_factory) -> dict[str, bytes]:
    tmp_path = tmp_path_factory.mktemp("plain")
    blank = blank_ministry()
    rows = [base_ministry(), both_routes(org_name="B省"), None, blank, both_routes()]
    plain = export(tmp_path, rows)
    return {
        "plain": plain,
        "generated": gen.ministry_xlsx_bytes(gen.ministry(300)),
        "shuffled": export(tmp_path, rows, shuffle_seed=7, extra_columns={"備考": 3, "": "x"}),
        "moved questions": export(tmp_path, rows, entry_order=["q09", "q10", "q01", "q02"]),
        "no trailing separator": export(tmp_path, rows, trailing_sep=False),
        "header spaces": export(tmp_path, rows, header_suffix=" "),
        "odd text": export(
            tmp_path,
            [
                base_ministry(
                    org_name=" 前後に空白 ",
                    org_type="府省 ",
                    s_dispatch="　はい",
                    q08_age="３０代",
                    q07="改行\nあり\r\nCR",
                    q17_traits=["ｺﾐｭﾆｹｰｼｮﾝ能力が高い", "その他"],
                    personnel_line="長" * 3000,
                ),
                base_ministry(org_name="<&>\"'", 名前=" 山田　花子 ", メール=None),
            ],
        ),
        "header below a title": edit_workbook(
            plain,
            lambda wb: (
                wb.active.insert_rows(1, amount=3),
                wb.active.__setitem__("A2", "各府省等アンケート 回答一覧"),
            ),
        ),
        "another sheet first": edit_workbook(
            plain,
            lambda wb: (
                wb.create_sheet("メモ", 0).__setitem__("A2", "ID"),
                wb.create_sheet("空"),
            ),
        ),
        "resaved by openpyxl": edit_workbook(plain, lambda wb: None),
        "xlsxwriter shared strings": via_xlsxwriter(plain),
        "xlsxwriter inline strings": via_xlsxwriter(plain, inline=True),
        "xlsxwriter generated": via_xlsxwriter(gen.ministry_xlsx_bytes(gen.ministry(200))),
        "stale dimension": edit_xml(
            plain, lambda x: re.sub(r'<dimension ref="[^"]*"', '<dimension ref="A1:C2"', x)
        ),
        "header only": export(tmp_path, []),
        "IDs as text": export(tmp_path, [base_ministry(ID="R-001"), base_ministry(ID="R-002")]),
        "times as text": export(tmp_path, [base_ministry(完了時刻="2023/11/20 12:00:00")]),
        "sub-second times": export(
            tmp_path,
            [base_ministry(), base_ministry()],
            submitted=[datetime(2023, 11, 20, 10, 0, 0, 250_000), datetime(2023, 11, 20, 23, 59)],
        ),
    }


@pytest.mark.parametrize(
    "name",
    [
        "plain",
        "generated",
        "shuffled",
        "moved questions",
        "no trailing separator",
        "header spaces",
        "odd text",
        "header below a title",
        "another sheet first",
        "resaved by openpyxl",
        "xlsxwriter shared strings",
        "xlsxwriter inline strings",
        "xlsxwriter generated",
        "stale dimension",
        "header only",
        "IDs as text",
        "times as text",
        "sub-second times",
    ],
)
def test_exports_are_read_by_calamine_exactly_as_by_openpyxl(plain_exports, name):
    data = plain_exports[name]
    assert cells_both_ways(data) is None  # calamine read them: and every cell is openpyxl's
    assert read_both_ways(data) is None


def test_a_missing_column_counts_the_rows_with_calamine(tmp_path):
    data = export(tmp_path, [base_ministry()] * 4, drop_headers=("組織区分",))
    assert read_both_ways(data) is None
    parsed = read_msforms_xlsx(data, "x.xlsx", ministry_form())
    assert (parsed.problem.rule, parsed.rows) == ("missing_column", 4)


def test_the_demo_exports_take_the_fast_path():
    from koryu_pipeline_tests.runs import ROOT

    demo = sorted((ROOT / "data" / "raw" / "ministry").rglob("*.xlsx"))
    assert demo
    for path in demo:
        assert read_both_ways(path.read_bytes()) is None, path.name


# --------------------------------------------------------------------------- odd cells


@pytest.fixture(scope="module")
def forty_rows(tmp_path_factory) -> bytes:
    rows = [base_ministry(), *[both_routes(org_name=f"{n}省") for n in range(39)]]
    return export(tmp_path_factory.mktemp("forty"), rows)


@pytest.mark.parametrize(
    "cell",
    [
        # numbers: openpyxl keeps an int an int, a float a float (1.0 stays 1.0)
        '<c r="{ref}"><v>12</v></c>',
        '<c r="{ref}" t="n"><v>12.0</v></c>',
        '<c r="{ref}"><v>1E+3</v></c>',
        '<c r="{ref}"><v>-5</v></c>',
        '<c r="{ref}"><v>+5</v></c>',
        '<c r="{ref}"><v>007</v></c>',
        '<c r="{ref}"><v>0.1</v></c>',
        '<c r="{ref}"><v>1_000</v></c>',
        '<c r="{ref}"><v> 12</v></c>',
        '<c r="{ref}"><v>NaN</v></c>',
        '<c r="{ref}"><v>inf</v></c>',
        '<c r="{ref}"><v>12345678901234567890</v></c>',
        '<c r="{ref}"><v>2958466</v></c>',
        '<c r="{ref}"><v>abc</v></c>',
        '<c r="{ref}" t="n"><v>abc</v></c>',
        # dates, by style 1 (the export's date-time style)
        '<c r="{ref}" s="1"><v>45250</v></c>',
        '<c r="{ref}" s="1"><v>45250.5</v></c>',
        '<c r="{ref}" s="1"><v>45250.0</v></c>',
        '<c r="{ref}" s="1"><v>0.5</v></c>',
        '<c r="{ref}" s="1"><v>0</v></c>',
        '<c r="{ref}" s="1"><v>-1</v></c>',
        '<c r="{ref}" s="1"><v>1.5</v></c>',
        '<c r="{ref}" s="1"><v>60</v></c>',
        '<c r="{ref}" s="1"><v>0.99999999999</v></c>',
        '<c r="{ref}" s="1"><v>2958465.9999999</v></c>',
        '<c r="{ref}" s="1"><v>2958466</v></c>',
        '<c r="{ref}" s="1"><v>1E+308</v></c>',
        '<c r="{ref}" s="x"><v>1</v></c>',
        '<c r="{ref}" s="99"><v>45250.5</v></c>',
        # other types
        '<c r="{ref}" t="b"><v>1</v></c>',
        '<c r="{ref}" t="b"><v>0.5</v></c>',
        '<c r="{ref}" t="b"><v>yes</v></c>',
        '<c r="{ref}" t="e"><v>#N/A</v></c>',
        '<c r="{ref}" t="e"><v>#FOO</v></c>',
        '<c r="{ref}" t="e"><v>&#35;N/A</v></c>',
        '<c r="{ref}" t="d"><v>2023-11-20T10:00:00</v></c>',
        '<c r="{ref}" t="d"><v>2023-11-20</v></c>',
        '<c r="{ref}" t="d"><v>0000-99-99</v></c>',
        '<c r="{ref}" t="str"><v>12.0</v></c>',
        '<c r="{ref}" t="str"><f>A1</f><v>text</v></c>',
        '<c r="{ref}" t="s"><v>99999</v></c>',
        '<c r="{ref}" t="zz"><v>1</v></c>',
        '<c r="{ref}"><f>1+1</f></c>',
        '<c r="{ref}"><f>1+1</f><v>2</v></c>',
        '<c r="{ref}"><v>2</v><f>1+1</f></c>',
        '<c r="{ref}"><v xml:space="preserve">2</v></c>',
        '<c r="{ref}"><v>1</v><v>2</v></c>',
        '<c r="{ref}" t="s"><is><t>inline</t></is></c>',
        '<c r="{ref}" t="n"><v>1</v><is><t>inline</t></is></c>',
        '<c r="{ref}" s="1" t="inlineStr"><is><t>inline</t></is></c>',
        '<c r="{ref}"/>',
        # text
        '<c r="{ref}" t="inlineStr"><is><t> 前後 </t></is></c>',
        '<c r="{ref}" t="inlineStr"><is><t xml:space="preserve"> 前後 </t></is></c>',
        '<c r="{ref}" t="inlineStr"><is><t>&#32;前</t></is></c>',
        '<c r="{ref}" t="inlineStr"><is><t>a_x000D_b</t></is></c>',
        '<c r="{ref}" t="inlineStr"><is><t><![CDATA[ <x> ]]></t></is></c>',
        '<c r="{ref}" t="inlineStr"><is><r><t>foo </t></r><r><t>bar</t></r></is></c>',
        '<c r="{ref}" t="inlineStr"><is><t>山田</t><rPh sb="0" eb="2"><t>ヤマダ</t></rPh></is></c>',
        '<c r="{ref}" t="inlineStr"><is><!-- a note --><t>x</t></is></c>',
        '<c r="{ref}" t="inlineStr"><is/></c>',
        '<c r="{ref}" t="inlineStr"></c>',
        '<c t="inlineStr"><is><t>no reference</t></is></c>',
    ],
)
@pytest.mark.parametrize("column", ["A", "C", "I"])  # ID, 完了時刻, s_dispatch (a choice)
def test_an_odd_cell_is_read_alike_or_refused(forty_rows, cell, column):
    """In row 40: far below the rows whose cells are compared with openpyxl's anyway."""
    odd = replace_cell(forty_rows, f"{column}40", cell)
    reason = cells_both_ways(odd)
    assert read_both_ways(odd) == reason


LATIN1 = '<?xml version="1.0" encoding="ISO-8859-1"?>'
BAD_MARGIN = '<pageMargins left="a"/></worksheet>'
SWAP = r'(<row r="40">.*?</row>)(<row r="41">.*?</row>)'


@pytest.mark.parametrize(
    ("case", "edit"),
    [
        ("a control character", lambda x: x.replace("38省", "38\x01省")),
        ("an invalid reference", lambda x: x.replace("38省", "38&#1;省")),
        ("a non-character", lambda x: x.replace("38省", "38&#xFFFE;省")),
        ("an undefined entity", lambda x: x.replace("38省", "38&nbsp;省")),
        ("a bare ampersand", lambda x: x.replace("38省", "38 & 省")),
        ("a duplicate attribute", lambda x: x.replace('<c r="F41"', '<c r="F41" r="F41"', 1)),
        ("'<' in an attribute", lambda x: x.replace('<c r="F41"', '<c x="<" r="F41"', 1)),
        ("a comment with --", lambda x: x.replace('<row r="41">', '<row r="41"><!-- a -- -->')),
        ("a mismatched tag", lambda x: x.replace("<t>38省</t>", "<t>38省</T>")),
        ("an unbound prefix", lambda x: x.replace("<t>38省</t>", "<x:t>38省</x:t>")),
        ("a cut-off end", lambda x: x[: x.rindex("</sheetData>") + 12] + "<pageMargins"),
        ("junk after the end", lambda x: x + "<extra/>"),
        ("a bad page margin", lambda x: x.replace("</worksheet>", BAD_MARGIN)),
        ("rows out of order", lambda x: x.replace('<row r="41">', '<row r="1">')),
        ("rows swapped", lambda x: re.sub(SWAP, r"\2\1", x)),
        ("a row number that is no number", lambda x: x.replace('<row r="41">', '<row r="41.0">')),
        ("a cell in another row", lambda x: x.replace('<c r="F41"', '<c r="F99"', 1)),
        ("a row naming another", lambda x: re.sub(r'r="([A-Z]+)41"', r'r="\g<1>40"', x)),
        ("a processing instruction", lambda x: x.replace('<row r="41">', '<?pi x?><row r="41">')),
        ("another encoding", lambda x: LATIN1 + x),
    ],
)  # fmt: skip
def test_damaged_sheet_xml_is_judged_by_openpyxl(forty_rows, case, edit):
    """calamine's XML parser lets much through that openpyxl's refuses: the file is rejected
    (or read) exactly as openpyxl reads it. The damage is in row 41, far below the rows
    read by both anyway."""
    damaged = edit_xml(forty_rows, edit)
    assert damaged != forty_rows
    read_both_ways(damaged)  # the fast path's result is the openpyxl path's


PHONETIC = "<rPh sb='0' eb='1'><t>ビー</t></rPh>"


@pytest.mark.parametrize(
    "edit",
    [
        lambda x: x.replace("<si><t>38省</t></si>", "<si><t> 38省 </t></si>"),
        lambda x: x.replace("<si><t>38省</t></si>", "<si><r><t>38</t></r><r><t> 省</t></r></si>"),
        lambda x: x.replace("<si><t>38省</t></si>", "<si><t>38_x000D_省</t></si>"),
        lambda x: x.replace("<si><t>38省</t></si>", "<si><t>38x005F_省</t></si>"),
        lambda x: x.replace("<si><t>38省</t></si>", "<si><t><![CDATA[38省 ]]></t></si>"),
        lambda x: x.replace("<si><t>38省</t></si>", f"<si><t>38省</t>{PHONETIC}</si>"),
    ],
)  # fmt: skip
def test_odd_shared_strings_are_read_alike_or_refused(forty_rows, edit):
    """As Excel saves: text in the shared strings. The odd one is row 41's."""
    data = via_xlsxwriter(forty_rows)
    odd = edit_xml(data, edit, "xl/sharedStrings.xml")
    assert odd != data
    reason = cells_both_ways(odd)
    assert read_both_ways(odd) == reason


def test_an_id_with_spaces_at_its_ends_is_kept_as_written(tmp_path):
    """calamine trims a <t> without xml:space="preserve"; the key uses the ID as written."""
    data = export(tmp_path, [base_ministry(ID="R1"), base_ministry(ID="R2")])
    odd = edit_xml(data, lambda x: x.replace("<t>R2</t>", "<t> R2 </t>"))
    assert read_both_ways(odd) is not None  # refused: openpyxl reads " R2 "
    frame = read_msforms_xlsx(odd, "x.xlsx", ministry_form()).frame
    assert frame["response_key"].iloc[1].startswith("id= R2 |at=")


@pytest.mark.parametrize(
    ("serial", "refused"),
    [
        ("45250.416666666664", False),  # 10:00, as Excel writes it
        ("45250.41666666667", False),
        ("45250.03485255208", True),  # x.5 ms: openpyxl and calamine round apart
        ("2958000.24922864", True),
    ],
)
def test_date_times_the_two_libraries_round_differently_are_refused(tmp_path, serial, refused):
    data = export(tmp_path, [base_ministry(), base_ministry(org_name="B省")])
    odd = replace_cell(data, "C3", f'<c r="{{ref}}" s="1"><v>{serial}</v></c>')
    with _workbook(odd) as wb:
        theirs = next(wb.active.iter_rows(min_row=3, max_row=3, values_only=True))[2]
    ours = CalamineWorkbook.from_filelike(io.BytesIO(odd)).get_sheet_by_index(0).to_python()
    assert (ours[2][2] != theirs) == refused  # the case is real
    reason = cells_both_ways(odd)
    assert (reason is not None) == refused, reason
    assert read_both_ways(odd) == reason


def test_serials_round_like_openpyxl_across_the_years(tmp_path):
    """Many date-time serials, as Excel and openpyxl write them: calamine's datetimes are
    openpyxl's to the millisecond, or the file is refused."""
    rng = np.random.default_rng(9)
    days = rng.integers(61, 2_958_465, 400)
    ms = rng.integers(0, 86_400_000, 400)
    rows = [base_ministry(org_name=f"省{i}") for i in range(len(days))]
    data = export(tmp_path, rows)

    def edit(xml: str) -> str:
        serials = iter(
            repr(float(d) + float(m) / 86_400_000) for d, m in zip(days, ms, strict=True)
        )
        return re.sub(
            r'(<c r="C(\d+)"[^>]*>)<v>[^<]*</v>',
            lambda m: m.group(1) + f"<v>{next(serials)}</v>" if m.group(2) != "1" else m.group(0),
            xml,
        )

    assert cells_both_ways(edit_xml(data, edit)) in (
        None,
        "a date-time the two libraries round to different milliseconds",
    )


# --------------------------------------------------------------------------- date styles


FORMATS = [
    "yyyy/m/d h:mm:ss",
    "General",
    "0.00",
    "#,##0",
    "mm:ss",
    "[h]:mm:ss",
    "[mm]:ss",
    '"Y: "0.00"m"',
    "\\Y000000",
    "h:mm AM/PM",
    "A/P",
    '[$-411]ggge"年"m"月"d"日"',
    '#,##0.0####" YMD"',
    "[Red]0.00",
    "0_);[Red](0)",
    "d-mmm",
    "@",
    "[DBNum1]General",
    "_(* #,##0_)",
    "*-dd",
]


@pytest.mark.parametrize("code", FORMATS)
def test_the_date_format_rules_are_calamines(code):
    """`calamine_format` ports calamine's test of a number format: checked against calamine
    itself on a cell with that format."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    book.add_worksheet().write_number(0, 0, 45250.5, book.add_format({"num_format": code}))
    book.close()
    value = CalamineWorkbook.from_filelike(io.BytesIO(out.getvalue())).get_sheet_by_index(0)
    cell = value.to_python()[0][0]
    expected = (
        "duration"
        if isinstance(cell, timedelta)
        else "other"
        if isinstance(cell, float)
        else "date"
    )
    assert calamine_format(code) == expected


@pytest.mark.parametrize("code", FORMATS)
def test_a_sheet_with_any_number_format_is_read_alike(forty_rows, code):
    """The format on the numbers and date-times of rows 20 and below only: far from the
    rows read by both anyway."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet("Sheet1")
    fmt = book.add_format({"num_format": code})
    plain = book.add_format({"num_format": "yyyy/m/d h:mm"})
    rows = load_workbook(io.BytesIO(forty_rows)).active.iter_rows(values_only=True)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, datetime):
                serial = (value - datetime(1899, 12, 30)).total_seconds() / 86400
                sheet.write_number(r, c, serial, fmt if r >= 19 else plain)
            elif value is not None:
                sheet.write(r, c, value, fmt if isinstance(value, int) and r >= 19 else None)
    book.close()
    reason = cells_both_ways(out.getvalue())
    assert read_both_ways(out.getvalue()) == reason


# --------------------------------------------------------------------------- keys and times


def reference(ids, stamps, tz, scrub):
    """The reader's former row-by-row conversion."""
    submitted = [_timestamp(v, tz) for v in stamps]
    unread = [
        None if t is not None or v is None or not str(v).strip() else scrub(str(v))
        for t, v in zip(submitted, stamps, strict=True)
    ]
    keys = [
        f"id={scrub(str(i))}|at={t.isoformat() if t is not None else scrub(str(v))}"
        for i, t, v in zip(ids, submitted, stamps, strict=True)
    ]
    return submitted, keys, unread


def column(values) -> pd.Series:
    return pd.DataFrame({"c": values})["c"]


@pytest.mark.parametrize("tz", ["Asia/Tokyo", "America/New_York", "Europe/London", "UTC"])
def test_times_and_keys_in_bulk_are_the_row_by_row_ones(tz):
    rng = np.random.default_rng(3)
    span = int((LATEST - EARLIEST).total_seconds())
    stamps: list[object] = [
        EARLIEST + timedelta(seconds=int(s), microseconds=int(u) * 1000)
        for s, u in zip(
            rng.integers(-86400, span + 86400, 3000), rng.integers(0, 1000, 3000), strict=True
        )
    ]
    stamps += [
        datetime(1948, 5, 2, 0, 30),  # Japan's summer time, its first night
        datetime(1951, 9, 8, 0, 30),  # and its last: twice
        datetime(2023, 3, 12, 2, 30),  # New York: skipped
        datetime(2023, 11, 5, 1, 30),  # and twice
        datetime(2023, 3, 26, 1, 30),  # London: skipped
        datetime(2023, 10, 29, 1, 30),  # and twice
        EARLIEST,
        LATEST,
        LATEST - timedelta(microseconds=1),
        datetime(9999, 12, 31, 23, 59, 59),
        datetime(1, 1, 1),
        45250.5,
        45250,
        1e308,
        float("inf"),
        -1,
        "2023/11/20 12:00:00",
        "2023/11/20 3:04:05 午後 GMT+9",
        " いつか ",
        "  ",
        "",
        None,
        True,
        time(12, 0),
        pd.Timestamp("2023-11-20 10:00", tz="UTC"),
    ]
    stamps += stamps[:50]  # repeated cells
    ids = [*range(len(stamps) - 3), 1.5, "R-1", None]
    scrub = str.upper  # any text function: each distinct cell goes through it once
    submitted, keys, unread = stamps_and_keys(ids, stamps, tz, scrub)
    want_submitted, want_keys, want_unread = reference(ids, stamps, tz, scrub)
    assert keys == want_keys
    assert unread == want_unread
    pd.testing.assert_series_equal(column(submitted), column(want_submitted))


def test_no_time_at_all_is_a_column_of_none():
    submitted, keys, unread = stamps_and_keys([1, 2], ["x", None], "Asia/Tokyo", str)
    assert submitted == [None, None] and keys == ["id=1|at=x", "id=2|at=None"]
    assert unread == ["x", None]
    assert stamps_and_keys([], [], "Asia/Tokyo", str) == ([], [], [])


def test_distinct_keeps_values_read_differently_apart():
    codes, values = distinct([1, 1.0, True, 0.0, -0.0, 1, "1", None, None])
    assert [repr(v) for v in values] == ["1", "1.0", "True", "0.0", "-0.0", "'1'", "None"]
    assert codes.tolist() == [0, 1, 2, 3, 4, 0, 5, 6, 6]
    codes, values = distinct(["a", "b", "a"])
    assert (codes.tolist(), values) == ([0, 1, 0], ["a", "b"])


@pytest.fixture(scope="module")
def a_thousand_rows() -> bytes:
    return gen.ministry_xlsx_bytes(gen.ministry(1000))


@pytest.mark.parametrize(
    ("ref", "far"),
    [("XFD3", True), ("F30000", True), ("ZZ3", False), ("AAA3", False), ("F1100", False)],
)
def test_a_cell_far_from_the_others_is_left_to_openpyxl(a_thousand_rows, ref, far):
    """calamine would hold the sheet as a grid down to the last row and across to the last
    column: one stray cell (a typo in XFD3) would make it huge, so openpyxl reads the file."""
    cell = f'<c r="{ref}" t="inlineStr"><is><t>x</t></is></c>'
    row = int(re.sub(r"[A-Z]", "", ref))

    def edit(xml: str) -> str:
        if row == 3:
            return xml.replace('</row><row r="4">', cell + '</row><row r="4">', 1)
        return xml.replace("</sheetData>", f'<row r="{row}">{cell}</row></sheetData>')

    odd = edit_xml(a_thousand_rows, edit)
    reason = cells_both_ways(odd)
    assert (reason is not None and "a grid of" in reason) == far, reason
    assert read_both_ways(odd) == reason
