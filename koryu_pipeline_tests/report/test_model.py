"""The slide model on the demo: what each slide shows, its base and routing note, the cover's
facts. Expected values are the seed's (the demo is calibrated to state it)."""

from __future__ import annotations

from datetime import date

import pandas as pd

from koryu_pipeline.codebook import Codebook
from koryu_pipeline.marts.headlines import load_rules
from koryu_pipeline.report.slides import (
    Report,
    build_model,
    default_wave,
    runs_text,
    toc_groups,
    wareki,
)


def test_seventeen_findings_in_the_seeds_order_with_the_computed_headlines(
    demo_model: Report, demo_marts: dict[str, pd.DataFrame]
) -> None:
    assert [s.number for s in demo_model.slides] == list(range(1, 18))
    assert [s.number for s in demo_model.slides] == [r["slide"] for r in load_rules()["slides"]]
    heads = demo_marts["marts/headlines"].set_index("slide")
    for slide in demo_model.slides:
        assert slide.title == heads.loc[slide.number, "title"]
        assert slide.headline == heads.loc[slide.number, "headline"]
        assert slide.panels, slide.number


def test_each_slide_shows_the_codebooks_questions(demo_model: Report, codebook: Codebook) -> None:
    forms = {f.instrument: f for f in codebook.forms if f.wave == demo_model.wave}
    for slide in demo_model.slides:
        keys = [p.key for p in slide.panels]
        if slide.number == 14:  # the crosswalk's slide: the comparison, not its two questions
            assert keys == ["marts/comparisons/support_gap"]
            continue
        expected = [
            f"marts/questions/ministry/{e.id}"
            for e in forms["ministry"].questions
            if e.slide == slide.number
        ]
        assert keys == expected
    kinds = {p.key.rsplit("/", 1)[-1]: p.kind for s in demo_model.slides for p in s.panels}
    assert kinds["q01"] == kinds["q03"] == kinds["q10"] == "likert"
    assert kinds["q04"] == kinds["q08_age"] == kinds["q17_traits"] == "bars"


def test_likert_points_in_scale_order_with_dont_know_last(demo_model: Report) -> None:
    q03 = demo_model.slides[2].panels[0]
    assert q03.points[-1] == "分からない" and q03.dont_know == (False,) * 5 + (True,)
    assert q03.points[:5] == ("当てはまらない", "あまり当てはまらない", "どちらともいえない",
                              "やや当てはまる", "よく当てはまる")  # fmt: skip
    for row in q03.likert:
        assert abs(sum(p or 0 for p in row.pcts) - 100) < 1e-9


def test_bases_and_routing_notes_as_the_seed_prints_them(demo_model: Report) -> None:
    panels = {p.key.rsplit("/", 1)[-1]: p for s in demo_model.slides for p in s.panels}
    assert panels["q04"].base_text == "ｎ＝１６（組織）"
    assert panels["q13"].base_text == "ｎ＝３４（組織）"
    assert panels["q16_reasons"].base_text == "ｎ＝２５（組織）"
    assert panels["q16"].base_text == "ｎ＝４９（組織）"
    assert panels["q04"].note.endswith(
        "交流派遣により、職員が民間企業に在籍していたことがあると回答した１６組織に質問"
    )
    assert panels["q16"].note == "全４９組織に質問"
    assert "５５２（人）" in panels["support_gap"].base_text
    assert demo_model.routing_note == (
        "※ 番号１から６の設問は、令和３年１１月１日以降において、交流派遣により、職員が民間企業に"
        "在籍していたことがあると回答した１６組織に対し、番号９から１３、１５の設問は、令和３年"
        "１１月１日以降において、交流採用者が在籍していたことがあると回答した３４組織に対し、"
        "それぞれ質問を行った。"
    )


def test_cover_facts_come_from_the_data_and_the_forms(demo_model: Report) -> None:
    main, hires = demo_model.surveys
    assert demo_model.title == "官民人事交流に関する各府省等アンケートの結果概要"
    assert (main.instrument, main.responses, main.unit) == ("ministry", 49, "組織")
    assert (hires.instrument, hires.responses, hires.unit) == ("hires", 552, "人")
    assert (wareki(main.opens), wareki(main.closes)) == (
        "令和５年１１月８日",
        "令和５年１２月２１日",
    )
    assert [g.name for g in demo_model.toc] == ["交流派遣", "交流採用"]
    assert [n for n, _ in demo_model.toc[0].slides] == list(range(1, 9))
    assert demo_model.toc[0].slides[0] == (1, "制度を活用している理由")


def test_suppressed_rows_carry_no_figure(
    codebook: Codebook, demo_marts: dict[str, pd.DataFrame]
) -> None:
    marts = dict(demo_marts)
    key = "marts/questions/ministry/q05"
    frame = marts[key].copy()
    frame["suppressed"] = frame["option_code"] == 1
    marts[key] = frame  # figures left in place: the report must not show them anyway
    panel = build_model(codebook, marts).slides[4].panels[0]
    first, *rest = panel.bars
    assert first.suppressed and first.pct is None and first.n is None and first.ci_high is None
    assert all(b.pct is not None for b in rest)


def test_text_helpers() -> None:
    assert wareki(date(2019, 5, 1)) == "令和元年５月１日"
    assert wareki(date(2019, 4, 30)) == "平成３１年４月３０日"
    assert runs_text([1, 2, 3, 4, 5, 6]) == "１から６"
    assert runs_text([9, 10, 11, 12, 13, 15]) == "９から１３、１５"
    assert runs_text([7, 8]) == "７、８"
    groups = toc_groups([(1, "甲（派遣）"), (2, "乙（派遣）"), (3, "丙(注)"), (4, "丁（採用）"),
                         (5, "戊（採用）")])  # fmt: skip
    assert [(g.name, [n for n, _ in g.slides]) for g in groups] == [
        ("派遣", [1, 2, 3]),
        ("採用", [4, 5]),
    ]


def test_default_wave_is_the_latest_with_every_headline() -> None:
    heads = pd.DataFrame(
        {
            "wave": ["2023", "2023", "2024", "2024"],
            "slide": [1, 2, 1, 2],
            "headline": ["a", "b", None, "c"],  # 2024: only the hires survey was fielded
        }
    )
    assert default_wave({"marts/headlines": heads}) == "2023"
    heads.loc[2, "headline"] = "d"
    assert default_wave({"marts/headlines": heads}) == "2024"
