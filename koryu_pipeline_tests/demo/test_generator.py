"""The demo exports: shape, determinism, documented defects and the seed's calibration.

The files are re-read here with openpyxl and the csv module directly (not the pipeline's
readers), so these tests check the generator against the forms, not against itself.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from koryu_pipeline.codebook import Entry, Form, get_codebook, normalise_text
from koryu_pipeline.demo.generator import (
    EXPECTED_ACCEPTED,
    EXPECTED_DEFECTS,
    EXPECTED_FILES,
    EXPECTED_VARIANTS,
    HIRES_CP932,
    HIRES_MAIN,
    MINISTRY_FINAL,
    MINISTRY_PARTIAL,
    write_demo_exports,
)

REPO = Path(__file__).resolve().parents[2]
MS_FIXED = ["ID", "開始時刻", "完了時刻", "メール", "名前"]
Row = dict[str, object]  # field column -> str | tuple[str, ...] | None, plus "_meta" keys


def ministry_form() -> Form:
    return get_codebook().form("ministry", "2023")


def hires_form() -> Form:
    return get_codebook().form("hires", "2023")


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("raw")
    write_demo_exports(out)
    return out


# ---------------------------------------------------------------------------- independent reading


def read_xlsx(path: Path) -> tuple[list[str], list[tuple]]:
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Sheet1"]
    rows = list(wb["Sheet1"].iter_rows(values_only=True))
    return list(rows[0]), rows[1:]


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    data = path.read_bytes()
    text = data.decode("utf-8-sig") if data.startswith(b"\xef\xbb\xbf") else data.decode("cp932")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return rows[0], rows[1:]


def split_multi(cell: str, seps: tuple[str, ...]) -> tuple[str, ...]:
    for sep in seps[1:]:
        cell = cell.replace(sep, seps[0])
    return tuple(p for p in (normalise_text(x) for x in cell.split(seps[0])) if p)


def parse(form: Form, cells: list, seps: tuple[str, ...]) -> Row:
    out: Row = {}
    for f, cell in zip(form.fields, cells, strict=True):
        if cell is None or str(cell).strip() == "":
            out[f.column] = None
        elif f.entry.is_multi:
            out[f.column] = split_multi(str(cell), seps)
        else:
            out[f.column] = normalise_text(str(cell))
    return out


def ministry_rows(raw: Path, rel: str) -> list[Row]:
    form = ministry_form()
    _, rows = read_xlsx(raw / rel)
    out = []
    for r in rows:
        row = parse(form, list(r[5:]), (";",))
        row.update(_id=r[0], _started=r[1], _submitted=r[2], _email=r[3], _name=r[4])
        out.append(row)
    return out


def hires_time(text: str) -> datetime:
    if text.endswith(" GMT+9"):
        day, clock, half, _ = text.split(" ")
        t = datetime.strptime(f"{day} {clock}", "%Y/%m/%d %H:%M:%S")
        hour = t.hour % 12 + (12 if half == "午後" else 0)
        return t.replace(hour=hour)
    return datetime.strptime(text, "%Y/%m/%d %H:%M:%S")


def hires_rows(raw: Path, rel: str) -> list[Row]:
    form = hires_form()
    _, rows = read_csv(raw / rel)
    out = []
    for r in rows:
        row = parse(form, r[1:], (", ", ";"))
        row["_submitted"] = hires_time(r[0])
        out.append(row)
    return out


def defect_rows(rel: str) -> dict[int, str]:
    return {d.row: d.rule for d in EXPECTED_DEFECTS if d.file == rel}


def accepted(raw: Path, instrument: str) -> list[Row]:
    out = []
    for rel in sorted(EXPECTED_FILES):
        if rel.startswith(instrument):
            rows = ministry_rows(raw, rel) if instrument == "ministry" else hires_rows(raw, rel)
            bad = defect_rows(rel)
            out += [r for i, r in enumerate(rows, 1) if i not in bad]
    return out


# ---------------------------------------------------------------------------- an independent check


def routed(entry: Entry, row: Row) -> bool:
    return all(
        row.get(dep) in {normalise_text(v) for v in values} for dep, values in entry.asked_if
    )


def problems(form: Form, row: Row) -> set[str]:
    """Rules this row breaks, judged from the codebook alone."""
    out = set()
    for e in form.entries:
        cols = [i.item_id for i in e.items] if e.type == "likert" else [e.id]
        values = [row[c] for c in cols]
        answered = [v for v in values if v is not None]
        if e.required and not answered:
            out.add("missing_required")
        if answered and e.asked_if and not routed(e, row):
            out.add("not_routed")
        for v in answered:
            labels = v if isinstance(v, tuple) else (v,)
            if e.is_choice and any(lab not in e.option_by_key for lab in labels):
                out.add("unknown_option")
            if e.max_choices and len(labels) > e.max_choices:
                out.add("too_many_choices")
            if len(labels) > 1 and set(labels) & e.exclusive_keys:
                out.add("exclusive_option")
    return out


# ---------------------------------------------------------------------------- shape


def test_ministry_headers_and_cells(raw: Path) -> None:
    form = ministry_form()
    want = MS_FIXED + [f.header for f in form.fields]
    for rel in (MINISTRY_PARTIAL, MINISTRY_FINAL):
        header, rows = read_xlsx(raw / rel)
        assert header == want
        assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
        for r in rows:
            assert isinstance(r[1], datetime) and isinstance(r[2], datetime)
            assert r[1] < r[2]
            assert form.opens <= r[2].date() <= form.closes
            assert str(r[3]).endswith("@example.go.jp") and " " in str(r[4])
        done = [r[2] for r in rows]
        assert done == sorted(done)
    # the likert item texts q01/q09 and q02/q10 share head two columns each
    assert want.count("民間との相互理解の促進を図るため") == 2
    assert want.count("民間との相互理解の促進につながった") == 2


def test_hires_headers_encodings_and_separators(raw: Path) -> None:
    form = hires_form()
    want = ["タイムスタンプ"] + [
        f"{f.entry.header} [{f.item.label}]" if f.item else f.entry.header for f in form.fields
    ]
    main, batch = (raw / HIRES_MAIN).read_bytes(), (raw / HIRES_CP932).read_bytes()
    assert main.startswith(b"\xef\xbb\xbf")
    assert not batch.startswith(b"\xef\xbb\xbf")
    with pytest.raises(UnicodeDecodeError):
        batch.decode("utf-8")
    for rel in (HIRES_MAIN, HIRES_CP932):
        header, rows = read_csv(raw / rel)
        assert header == want
        assert all(len(r) == len(want) for r in rows)
    wish = want.index(form.entry("support_wishes").header)
    main_cells = [r[wish] for r in read_csv(raw / HIRES_MAIN)[1]]
    batch_cells = [r[wish] for r in read_csv(raw / HIRES_CP932)[1]]
    assert any(", " in c for c in main_cells) and not any(";" in c for c in main_cells)
    assert any(";" in c for c in batch_cells) and not any(", " in c for c in batch_cells)
    assert all(c.endswith(" GMT+9") for c in (r[0] for r in read_csv(raw / HIRES_CP932)[1]))


def test_regeneration_is_byte_identical(raw: Path, tmp_path: Path) -> None:
    paths = write_demo_exports(tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in paths) == sorted(EXPECTED_FILES)
    for rel in EXPECTED_FILES:
        assert (tmp_path / rel).read_bytes() == (raw / rel).read_bytes(), rel
    with zipfile.ZipFile(tmp_path / MINISTRY_FINAL) as z:
        assert {i.date_time for i in z.infolist()} == {(2023, 12, 22, 0, 0, 0)}
        assert b"2023-12-22T10:00:00Z" in z.read("docProps/core.xml")


def test_committed_raw_data_is_current(raw: Path) -> None:
    """data/raw must be what the generator writes now: regenerate after changing it with
    `python -c "from pathlib import Path; from koryu_pipeline.demo.generator import
    write_demo_exports; write_demo_exports(Path('data/raw'))"`."""
    committed = REPO / "data" / "raw"
    found = {
        p.relative_to(committed).as_posix()
        for inst in ("ministry", "hires")
        for p in (committed / inst).rglob("*")
        if p.is_file()
    }
    assert found == set(EXPECTED_FILES)
    for rel in EXPECTED_FILES:
        assert (committed / rel).read_bytes() == (raw / rel).read_bytes(), rel


# ---------------------------------------------------------------------------- expectations


def test_expected_table_adds_up(raw: Path) -> None:
    totals = Counter()
    for rel, exp in EXPECTED_FILES.items():
        n = len(ministry_rows(raw, rel) if rel.startswith("ministry") else hires_rows(raw, rel))
        assert n == exp["rows"], rel
        assert exp["accepted"] + sum(exp["rejected"].values()) == n, rel
        assert Counter(defect_rows(rel).values()) == Counter(exp["rejected"]), rel
        totals[rel.split("/")[0]] += exp["accepted"]
    assert dict(totals) == EXPECTED_ACCEPTED == {"ministry": 49, "hires": 552}
    assert len(accepted(raw, "ministry")) == 49
    assert len(accepted(raw, "hires")) == 552


def test_defects_are_what_they_say(raw: Path) -> None:
    mform, hform = ministry_form(), hires_form()
    final, partial = ministry_rows(raw, MINISTRY_FINAL), ministry_rows(raw, MINISTRY_PARTIAL)
    main = hires_rows(raw, HIRES_MAIN)
    good = accepted(raw, "ministry")
    keys = {(r["org_name"], r["personnel_line"]) for r in good}
    for d in EXPECTED_DEFECTS:
        rows = {MINISTRY_PARTIAL: partial, MINISTRY_FINAL: final, HIRES_MAIN: main}[d.file]
        row = rows[d.row - 1]
        form = hform if d.file == HIRES_MAIN else mform
        if d.rule == "duplicate":
            assert row == final[d.row - 1]
        elif d.rule == "superseded":
            later = [
                r for r in good
                if (r["org_name"], r["personnel_line"]) == (row["org_name"], row["personnel_line"])
            ]  # fmt: skip
            assert len(later) == 1 and later[0]["_submitted"] > row["_submitted"]
            strip = {k: v for k, v in row.items() if not k.startswith("_")}
            assert strip != {k: v for k, v in later[0].items() if not k.startswith("_")}
            assert problems(form, row) == set()
        elif d.rule == "outside_fielding_window":
            assert row["_submitted"].date() > form.closes
            assert problems(form, row) == set()
        else:  # a row-level rule the codebook alone detects, and nothing else
            assert problems(form, row) == {d.rule}, d
        if d.rule == "unknown_option":
            assert (row["org_name"], row["personnel_line"]) not in keys
            assert {r["org_name"] for r in good}.isdisjoint({row["org_name"]})
        if d.rule == "too_many_choices":
            assert len(row[d.column]) == 4
    # the duplicates are exactly the partial export
    assert len(partial) == sum(d.rule == "duplicate" for d in EXPECTED_DEFECTS)


def test_variant_cells_normalise_to_labels(raw: Path) -> None:
    form = ministry_form()
    _, rows = read_xlsx(raw / MINISTRY_FINAL)
    col = {f.column: 5 + i for i, f in enumerate(form.fields)}
    multi_cols = [col[f.column] for f in form.fields if f.entry.is_multi]
    for v in EXPECTED_VARIANTS:
        cells = rows[v.row - 1]
        if v.kind == "no_trailing_separator":
            present = [cells[i] for i in multi_cols if cells[i]]
            assert present and not any(c.endswith(";") for c in present)
            continue
        cell = cells[col[v.column]]
        entry = form.entry(v.column)
        labels = split_multi(cell, (";",)) if entry.is_multi else (normalise_text(cell),)
        assert all(lab in entry.option_by_key for lab in labels)
        verbatim = {o.label for o in entry.options}
        assert cell not in verbatim and not (
            entry.is_multi
            and cell.endswith(";")
            and all(p in verbatim for p in cell.split(";")[:-1])
        )
    # other rows keep the trailing ';' Microsoft Forms writes
    assert rows[0][col["q17_traits"]].endswith(";")


# ---------------------------------------------------------------------------- calibration


def counts(rows: list[Row], column: str) -> tuple[Counter, int]:
    """(choices per label, base = respondents who answered)."""
    c: Counter = Counter()
    base = 0
    for r in rows:
        v = r[column]
        if v is None:
            continue
        base += 1
        c.update(v if isinstance(v, tuple) else (v,))
    return c, base


def pct(rows: list[Row], column: str, label: str) -> float:
    c, base = counts(rows, column)
    return 100 * c[normalise_text(label)] / base


def positive(rows: list[Row], column: str) -> int:
    c, _ = counts(rows, column)
    return c["やや当てはまる"] + c["よく当てはまる"]


def about(p: float, tens: int) -> bool:
    return round(p / 10) == tens


def ranked(rows: list[Row], column: str) -> list[tuple[str, int]]:
    return counts(rows, column)[0].most_common()


def test_ministry_structure(raw: Path) -> None:
    form = ministry_form()
    rows = accepted(raw, "ministry")
    assert len(rows) == 49
    assert all(problems(form, r) == set() for r in rows)
    assert sum(r["s_dispatch"] == "はい" for r in rows) == 16
    assert sum(r["s_hire"] == "はい" for r in rows) == 34
    keys = [(r["org_name"], r["personnel_line"]) for r in rows]
    assert len(set(keys)) == 49
    lines = Counter(name for name, line in keys if line)
    assert sum(n >= 2 for n in lines.values()) >= 2
    assert not {name for name, line in keys if not line} & set(lines)
    assert set(Counter(r["org_type"] for r in rows)) == {"府省", "行政執行法人"}
    assert all(form.opens <= r["_submitted"].date() <= form.closes for r in rows)
    # every routed respondent answers every routed question (one blank likert item allowed)
    blanks = 0
    for e in form.questions:
        cols = [i.item_id for i in e.items] if e.type == "likert" else [e.id]
        for r in rows:
            for c in cols:
                if routed(e, r):
                    blanks += r[c] is None
                else:
                    assert r[c] is None
    assert blanks == 1 and counts(rows, "q01_6")[1] == 15
    assert sum(counts(rows, "q07_reasons")[1] for _ in [0]) == 34
    assert counts(rows, "q16_reasons")[1] == 25


def test_ministry_dispatch_headlines(raw: Path) -> None:
    rows = accepted(raw, "ministry")
    # 1: items 1-4 over 90% positive, items 5-6 clearly lower
    for i in (1, 2, 3, 4):
        assert 100 * positive(rows, f"q01_{i}") / counts(rows, f"q01_{i}")[1] > 90
    for i in (5, 6):
        assert 100 * positive(rows, f"q01_{i}") / counts(rows, f"q01_{i}")[1] <= 80
    # 2: items 1-2 over 90%; 4-5 over 80% but not 90%; 3 at most 80%
    q2 = {i: 100 * positive(rows, f"q02_{i}") / 16 for i in range(1, 6)}
    assert q2[1] > 90 and q2[2] > 90
    assert all(80 < q2[i] <= 90 for i in (4, 5)) and q2[3] <= 80
    # 3: positive strictly decreasing, with some 分からない
    q3 = [positive(rows, f"q03_{i}") for i in range(1, 5)]
    assert q3 == sorted(q3, reverse=True) and len(set(q3)) == 4
    assert sum(counts(rows, f"q03_{i}")[0]["分からない"] for i in range(1, 5)) > 0
    # 4: no such case about 70%
    assert counts(rows, "q04")[0]["十分な成果を得られなかったケースはない"] == 11
    assert about(pct(rows, "q04", "十分な成果を得られなかったケースはない"), 7)
    # 5: first over 50%, next two about 40%, その他 small
    assert pct(rows, "q05", "将来の幹部候補として育成している職員等に対する経験付与") > 50
    assert about(pct(rows, "q05", "民間企業での業務を希望する者に対する経験付与"), 4)
    assert about(
        pct(rows, "q05", "幹部候補として育成している職員以外の中核的職員に対する経験付与"), 4
    )
    assert pct(rows, "q05", "その他") < 20
    # 6: 役職段階 over 80%; 年齢 and related experience next, distinct counts
    top = ranked(rows, "q06")
    assert top[0][0] == "役職段階" and pct(rows, "q06", "役職段階") > 80
    assert {top[1][0], top[2][0]} == {
        "年齢", "派遣先企業の業種に関連した業務に従事した経験を有していること"
    }  # fmt: skip
    assert top[0][1] > top[1][1] > top[2][1] > top[3][1]
    # 7: proactive about 30%; staff shortage about 60% of the 34 and the most chosen reason
    assert counts(rows, "q07")[0]["更なる交流派遣に積極的である"] == 15
    assert about(pct(rows, "q07", "更なる交流派遣に積極的である"), 3)
    assert counts(rows, "q07_reasons")[1] == 34
    assert ranked(rows, "q07_reasons")[0] == ("職員の人員不足で交流派遣をする余裕がない", 20)
    assert about(pct(rows, "q07_reasons", "職員の人員不足で交流派遣をする余裕がない"), 6)
    # 8: 30代 strictly most; related field about 60% and most chosen
    age = ranked(rows, "q08_age")
    assert age[0][0] == "30代" and age[0][1] > age[1][1]
    assert ranked(rows, "q08_work")[0] == ("所管行政と関連する分野の業務", 29)
    assert about(pct(rows, "q08_work", "所管行政と関連する分野の業務"), 6)


def test_ministry_hiring_headlines(raw: Path) -> None:
    rows = accepted(raw, "ministry")
    # 9: items 1-3 over 80%, item 4 lower
    q9 = {i: 100 * positive(rows, f"q09_{i}") / 34 for i in range(1, 5)}
    assert all(q9[i] > 80 for i in (1, 2, 3)) and q9[4] < min(q9[1], q9[2], q9[3])
    # 10: all four over 80%
    assert all(100 * positive(rows, f"q10_{i}") / 34 > 80 for i in range(1, 5))
    # 11: no such case over 60%
    assert counts(rows, "q11")[0]["十分な成果を得られなかったケースはない"] == 21
    assert pct(rows, "q11", "十分な成果を得られなかったケースはない") > 60
    # 12: 処遇の違い about 50% and most chosen
    top = ranked(rows, "q12")
    assert top[0] == ("処遇の違いによる企業側との調整", 17) and top[1][1] < 17
    assert about(pct(rows, "q12", "処遇の違いによる企業側との調整"), 5)
    # 13: the first three options each at least 50% and the three most chosen; the
    # networking supports under 20%
    q13 = ranked(rows, "q13")
    first3 = [o.key for o in ministry_form().entry("q13").options[:3]]
    assert {lab for lab, _ in q13[:3]} == set(first3) and q13[2][1] > q13[3][1]
    assert all(pct(rows, "q13", lab) >= 50 for lab in first3)
    assert pct(rows, "q13", "府省内における人脈形成のための支援") < 20
    assert pct(rows, "q13", "民間企業出身者等向けの懇親会等の交流の機会の付与") < 20
    # 15: 企業からの申出 about 50%; 人脈 and コネクション about 40%, 2nd and 3rd
    q15 = ranked(rows, "q15")
    assert q15[0] == ("企業からの申出", 17) and about(pct(rows, "q15", "企業からの申出"), 5)
    assert {lab for lab, _ in q15[1:3]} == {
        "幹部や人事担当者の人脈",
        "所管業務を通じたコネクション",
    }
    assert q15[2][1] > q15[3][1]
    assert about(pct(rows, "q15", "幹部や人事担当者の人脈"), 4)
    assert about(pct(rows, "q15", "所管業務を通じたコネクション"), 4)
    # 16: proactive about 50%; no suitable post about 40% of 25 and most chosen
    assert counts(rows, "q16")[0]["更なる交流採用に積極的である"] == 24
    assert about(pct(rows, "q16", "更なる交流採用に積極的である"), 5)
    q16r = ranked(rows, "q16_reasons")
    assert q16r[0] == ("適当なポストが用意できない", 10) and q16r[1][1] < 10
    assert about(pct(rows, "q16_reasons", "適当なポストが用意できない"), 4)
    # 17: 30代 strictly most; adaptability about 60% and most chosen
    age = ranked(rows, "q17_age")
    assert age[0][0] == "30代" and age[0][1] > age[1][1]
    traits = ranked(rows, "q17_traits")
    assert traits[0] == ("異なる環境や組織文化に適応できる", 29) and traits[1][1] < 29
    assert about(pct(rows, "q17_traits", "異なる環境や組織文化に適応できる"), 6)


def test_hires_calibration(raw: Path) -> None:
    form = hires_form()
    rows = accepted(raw, "hires")
    assert len(rows) == 552
    assert all(problems(form, r) == set() for r in rows)
    assert all(date(2023, 11, 8) <= r["_submitted"].date() <= form.closes for r in rows)
    assert len({r["_submitted"] for r in rows}) == 552
    wishes = ranked(rows, "support_wishes")
    assert counts(rows, "support_wishes")[1] == 552
    assert wishes[0][0] == "府省特有の文化やルールに関する解説の充実"
    assert about(pct(rows, "support_wishes", "府省特有の文化やルールに関する解説の充実"), 6)
    top5 = {lab for lab, _ in wishes[:5]}
    assert wishes[4][1] > wishes[5][1]
    for lab in (
        "府省内における人脈形成のための支援",
        "民間企業出身者向けの懇親会等の交流の機会の付与",
    ):
        assert 27 <= pct(rows, "support_wishes", lab) <= 33 and lab in top5
    none = [r["support_wishes"] for r in rows if "特になし" in r["support_wishes"]]
    assert 0 < len(none) <= 20 and all(v == ("特になし",) for v in none)
    ages = ranked(rows, "age_band")
    assert {ages[0][0], ages[1][0]} == {"30代", "40代"}
    industry = counts(rows, "industry")[0]
    assert 0 < min(industry.values()) < 5 and len(industry) == 8
    for item in form.entry("satisfaction").items:
        assert counts(rows, item.item_id)[1] == 552
    # the CP932 batch is the executive agencies' copy of the form
    batch = hires_rows(raw, HIRES_CP932)
    assert {r["host_org_type"] for r in batch} == {"行政執行法人"}
