"""The demo's calibration: the expected files, documented defects and variants, and the seed's
headlines, checked on the exports as written and read independently of the pipeline (see
`reading`); one test then runs the pipeline's readers and validation on them."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pandas as pd

from koryu_pipeline.codebook import get_codebook, normalise_text
from koryu_pipeline.demo.calibration import (
    EXPECTED_ACCEPTED,
    EXPECTED_DEFECTS,
    EXPECTED_FILES,
    EXPECTED_VARIANTS,
    HIRES_CP932,
    HIRES_MAIN,
    MINISTRY_FINAL,
    MINISTRY_PARTIAL,
    WAVE,
)
from koryu_pipeline.ingest.readers import export_files, read_export
from koryu_pipeline.ingest.validation import validate_wave
from koryu_pipeline_tests.demo.reading import (
    Row,
    accepted,
    defect_rows,
    hires_form,
    hires_rows,
    ministry_form,
    ministry_rows,
    problems,
    read_xlsx,
    routed,
    split_multi,
)


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


def test_pipeline_rejects_exactly_the_documented_defects(raw: Path) -> None:
    """The one test here that uses the pipeline: its readers and validation reject every
    documented defect, at the row they report (`Defect.source_row`), and nothing else."""
    cb = get_codebook()
    found: dict[tuple[str, int, str], str | None] = {}
    for instrument in ("ministry", "hires"):
        parsed = [
            read_export(p, raw, cb, instrument, WAVE) for p in export_files(raw, instrument, WAVE)
        ]
        rejections = validate_wave(cb.form(instrument, WAVE), parsed).rejections
        for rec in rejections.itertuples():
            column = None if pd.isna(rec.column) else rec.column
            found[(rec.source_file, int(rec.source_row), rec.rule)] = column
    assert set(found) == {(d.file, d.source_row, d.rule) for d in EXPECTED_DEFECTS}
    for d in EXPECTED_DEFECTS:
        if d.column is not None:  # a rule about one cell names its column
            assert found[(d.file, d.source_row, d.rule)] == d.column, d


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
