"""Headlines: band wording, the rules on a calibrated survey, bands that flip with the data,
interpretive clauses asserted only when their conditions hold (and reworded or dropped when
they fail), non-answers never named, and (when the demo warehouse exists) the end-to-end
check against the seed."""

from __future__ import annotations

import json
import re
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.marts.build import build_marts
from koryu_pipeline.marts.comparisons import comparison_tables
from koryu_pipeline.marts.headlines import (
    band_range,
    band_text,
    fullwidth,
    headlines,
    load_rules,
)
from koryu_pipeline.settings import Settings
from koryu_pipeline.warehouse.tables import COMPARISONS_PREFIX, HEADLINES_SCHEMA, QUESTION_RESULTS
from koryu_pipeline.warehouse.tables import HEADLINES as HEADLINES_KEY
from koryu_pipeline_tests.marts_fixtures import calibrated_facts, calibrated_marts

# What each slide's headline must say: substrings of the seed's summary sentences (line breaks
# of the PDF text joined, its stray spaces left out). Usable by any end-to-end test.
EXPECTED_HEADLINE_FRAGMENTS: dict[int, list[str]] = {
    1: [
        "「民間との相互理解の促進を図るため」「職員の育成のため」「公務にはない知識やノウハウを獲得"
        "するため」「自組織の活性化を図るため」に対して、９割超が肯定的な回答"
    ],
    2: [
        "「民間との相互理解の促進につながった」「組織の活性化につながった」に対して、９割超が肯定的な回答",
        "交流派遣者の挙げた成果や復帰後の周囲への好影響についても、肯定的な回答が８割超",
    ],
    3: [
        "「民間の業務手法やノウハウの体得」",
        "「視野の広がり」、「これまでの常識や固定観念にとらわれない考え方の獲得」、"
        "「仕事やキャリアに対するモチベーションの向上」の順に、肯定的な回答が多い",
    ],
    4: ["「十分な成果を得られなかったケースはない」との回答が約７割を占める"],
    5: [
        "交流派遣を「将来の幹部候補として育成している職員等に対する経験付与」として位置づけている"
        "組織が５割を超える",
        "このほか、「民間企業での業務を希望する者に対する経験付与」「幹部候補として育成している職員"
        "以外の中核的職員に対する経験付与」として位置づけている組織が約４割",
    ],
    6: [
        "「役職段階」を重視している組織が８割を超える",
        "次いで、「年齢」「派遣先企業の業種に関連した業務に従事した経験を有していること」を重視して"
        "いる組織の割合が高い",
    ],
    7: [
        "交流派遣の更なる活用に積極的な組織は、約３割",
        "更なる交流派遣に積極的ではない理由は、「職員の人員不足で交流派遣をする余裕がない」との回答が"
        "約６割",
    ],
    8: [
        "交流派遣で派遣したい国家公務員の年代は、「３０代」が最多",
        "交流派遣職員には、「所管行政と関連する分野の業務」を経験させたいとする回答が約６割",
    ],
    9: [
        "「自組織の組織活性化を図るため」「自組織に公務にはない知識やノウハウを獲得するため」「民間との"
        "相互理解の促進を図るため」に対し、８割超が肯定的な回答"
    ],
    10: [
        "「自組織の組織の活性化につながった」",
        "「民間との相互理解の促進につながった」「組織として公務にはない知識やノウハウが獲得できた」に"
        "対して、８割超が肯定的な回答",
        "交流採用者の能力・成果についても、肯定的な回答が８割超",
    ],
    11: ["「十分な成果を得られなかったケースはない」との回答が６割超を占める"],
    12: ["「処遇の違いによる企業側との調整」に苦労したと回答した組織が、約５割"],
    13: [
        "５割以上の組織が、「府省特有の文化やルールに関する説明」「前任者からの業務の丁寧な引継ぎの"
        "励行」「公務員倫理等服務上の教育の機会付与」に力を入れていると回答"
    ],
    14: [
        "約６割の交流採用者が、「府省特有の文化やルールに関する解説の充実」について",
        "交流採用者の認識（改善すべき点）と府省の意識との間にギャップがある",
        "約３割の交流採用者が",
        "「府省内における人脈形成のための支援」「民間企業出身者向けの懇親会等の交流の機会の付与」に"
        "ついて、力を入れて行っていると回答した組織の割合は、いずれも２割に満たない",
    ],
    15: [
        "「企業からの申出」とする回答が約５割",
        "このほか「幹部や人事担当者の人脈」「所管業務を通じたコネクション」とする回答も約４割",
    ],
    16: [
        "交流採用の更なる活用に積極的な組織は約５割",
        "「適当なポストが用意できない」との回答が約４割",
    ],
    17: [
        "各府省等が交流採用したいとする年代は、「３０代」が最多",
        "「異なる環境や組織文化に適応できる」ことを期待する回答が約６割",
    ],
}


def assert_fragments(headlines: pd.DataFrame, wave: int = 2023) -> None:
    rows = headlines.loc[headlines["wave"] == wave].set_index("slide")
    assert sorted(rows.index) == list(range(1, 18))
    missing = [
        (slide, fragment)
        for slide, fragments in EXPECTED_HEADLINE_FRAGMENTS.items()
        for fragment in fragments
        if fragment not in (rows.loc[slide, "headline"] or "")
    ]
    assert not missing, "\n".join(
        f"slide {s}: {f}\n  got: {rows.loc[s, 'headline']}" for s, f in missing
    )


def _marts(**counts) -> dict[str, Any]:
    cb = get_codebook()
    return build_marts(cb, *calibrated_facts(cb, **counts), Settings().suppress_below)


def _headlines(**counts) -> pd.DataFrame:
    return _marts(**counts)[HEADLINES_KEY][0]


def _slide(frame: pd.DataFrame, slide: int) -> str:
    return frame.loc[frame["slide"] == slide, "headline"].iloc[0]


def _stored(frame: pd.DataFrame, slide: int, column: str) -> list[dict[str, Any]]:
    """A slide's `figures` or `conditions`, parsed back from the JSON text."""
    return json.loads(frame.loc[frame["slide"] == slide, column].iloc[0])


def _condition(frame: pd.DataFrame, slide: int, test: str, sentence: int = 1) -> dict[str, Any]:
    (found,) = [
        c
        for c in _stored(frame, slide, "conditions")
        if c["test"] == test and c["sentence"] == sentence
    ]
    return found


def _sentence(frame: pd.DataFrame, slide: int, sentence: int) -> dict[str, Any]:
    return _stored(frame, slide, "figures")[sentence - 1]


# --------------------------------------------------------------------------- bands

FAMILIES = load_rules()["bands"]


@pytest.mark.parametrize(
    ("family", "values", "text"),
    [
        ("over", [93.75], "9割超"),
        ("over", [90.0], "8割超"),  # 90% is not over 90%
        ("over", [93.75, 87.5], "8割超"),  # true of all: the lowest decides
        ("over", [100.0], "9割超"),
        ("over_verb", [56.25], "5割を超える"),
        ("at_least", [50.0], "5割以上"),
        ("at_least", [100 * 17 / 34], "5割以上"),  # exactly half, despite float noise
        ("at_least", [49.99], "4割以上"),
        ("about", [68.75], "約7割"),
        ("about", [30.6], "約3割"),
        ("about", [45.0], "約5割"),  # half up
        ("about", [44.9], "約4割"),
        ("about", [37.5, 43.75], "約4割"),
        ("about", [29.0, 41.2], "約3～4割"),
        ("under", [17.6], "2割に満たない"),
        ("under", [11.8, 14.7], "2割に満たない"),
        ("under", [20.0], "3割に満たない"),
        ("about", [96.0], "ほぼ全て"),  # not 約10割
        ("about", [3.0], "1割未満"),  # not 約0割
        ("about", [88.0, 97.0], "約9～10割"),
        ("at_least", [100.0], "全て"),  # not 10割以上
    ],
)
def test_band_text(family: str, values: list[float], text: str) -> None:
    assert band_text(values, FAMILIES[family]) == text


@pytest.mark.parametrize(
    ("family", "values", "expected"),
    [
        ("about", [59.78], "[55, 65)"),
        ("about", [29.0, 41.2], "[25, 45)"),
        ("about", [2.0], "[0, 5)"),
        ("over", [93.75], "(90, 100]"),
        ("over", [87.5, 93.75], "(80, 90]"),
        ("over_verb", [56.25], "(50, 60]"),
        ("at_least", [50.0], "[50, 60)"),
        ("at_least", [100.0], "[100, 100]"),
        ("under", [11.8, 14.7], "[10, 20)"),
    ],
)
def test_band_range_is_what_the_wording_stands_for(
    family: str, values: list[float], expected: str
) -> None:
    assert band_range(values, FAMILIES[family]) == expected


def test_fullwidth() -> None:
    assert fullwidth("30代、ｎ=16、約7割") == "３０代、ｎ=１６、約７割"


def test_rules_are_patterns_not_sentences() -> None:
    for slide in load_rules()["slides"]:
        for sentence in slide["sentences"]:
            assert "{" in sentence["template"], (slide["slide"], sentence["template"])


# --------------------------------------------------------------------------- on data


# Words that interpret rather than report: a sentence using one must state its condition.
INTERPRETIVE = ("ギャップ", "次いで", "の順に", "最多", "このほか", "についても", "また、")


def test_every_interpretive_clause_carries_a_condition() -> None:
    for slide in load_rules()["slides"]:
        for sentence in slide["sentences"]:
            template = sentence["template"]
            guarded = [
                text
                for clause in (sentence.get("clauses") or {}).values()
                for text in (clause["then"],)
            ]
            words = [w for w in INTERPRETIVE if w in template or any(w in g for g in guarded)]
            if not words:
                continue
            conditions = list(sentence.get("when") or []) + [
                c for clause in (sentence.get("clauses") or {}).values() for c in clause["when"]
            ]
            assert conditions, (slide["slide"], words)
            assert all(c.get("note") for c in conditions), slide["slide"]
            # the weaker wording does not carry the word the condition guards
            otherwise = sentence.get("otherwise", "drop")
            if isinstance(otherwise, dict) and "template" in otherwise:
                assert not any(w in otherwise["template"] for w in words), slide["slide"]
            for clause in (sentence.get("clauses") or {}).values():
                assert not any(w in clause.get("else", "") for w in words), slide["slide"]


def test_calibrated_survey_states_the_seed() -> None:
    table = calibrated_marts()[HEADLINES_KEY][0]
    assert list(table.columns) == HEADLINES_SCHEMA.names
    assert len(table) == 17
    assert_fragments(table)
    # every interpretive clause was checked, and held
    assert (table["conditions_failed"] == 0).all()
    checked = table.set_index("slide")["conditions_checked"]
    assert {s for s, n in checked.items() if n} == {2, 3, 5, 6, 8, 10, 14, 15, 17}
    for slide in range(1, 18):
        assert all(c["held"] for c in _stored(table, slide, "conditions"))
        statuses = {f["status"] for f in _stored(table, slide, "figures")}
        assert statuses == {"asserted"}, slide
    assert table.loc[table["slide"] == 14, "sources"].iloc[0] == "comparisons/support_gap"
    assert table.loc[table["slide"] == 1, "title"].iloc[0] == "制度を活用している理由（交流派遣）"


def test_bands_and_labels_follow_the_data() -> None:
    flipped = _headlines(
        ministry={
            # slide 1: items 1-4 now 14/16 (87.5%): nothing over 90%, so the best band
            "q01_1": (0, 0, 2, 5, 9),
            "q01_2": (0, 0, 2, 4, 10),
            "q01_3": (0, 1, 1, 6, 8),
            "q01_4": (0, 0, 2, 7, 7),
            "q07": (20, 19, 10),  # slide 7: 20/49 = 41% proactive
            "q08_age": (8, 14, 24, 3),  # slide 8: 40代 most chosen
        },
        hires=False,
    )
    s1 = _slide(flipped, 1)
    assert "に対して、８割超が肯定的な回答" in s1 and "９割超" not in s1
    assert "「自組織の活性化を図るため」" in s1
    assert "積極的な組織は、約４割" in _slide(flipped, 7)
    assert "「４０代」が最多" in _slide(flipped, 8)
    # no hires data: slide 14 has nothing to say
    assert pd.isna(_slide(flipped, 14))


def test_gap_selection_follows_the_data() -> None:
    counts = {"q13": (22, 20, 18, 14, 12, 8, 6, 9, 9, 11, 7)}  # 人脈 now 9/34 = 26%
    s14 = _slide(_headlines(ministry=counts), 14)
    assert "「民間企業出身者向けの懇親会等の交流の機会の付与」について" in s14
    assert "「府省内における人脈形成のための支援」" not in s14
    # one support left: 「いずれも」 (both / all) would not fit
    assert "組織の割合は、２割に満たない。" in s14 and "いずれも" not in s14


# --------------------------------------------------------------------------- end to end


def test_demo_warehouse_headlines_state_the_seed(demo_warehouse: Path) -> None:
    """`koryu run` on the bundled demo exports: every slide's headline states the seed's,
    every interpretive clause's condition holds, and what each rests on is stored."""
    frame = pd.read_parquet(demo_warehouse / "marts" / "headlines" / "part-0.parquet")
    assert sorted(frame["slide"]) == list(range(1, 18))
    assert_fragments(frame)
    assert (frame["conditions_failed"] == 0).all() and frame["conditions_checked"].sum() > 0
    for slide in range(1, 18):
        for sentence in _stored(frame, slide, "figures"):
            assert sentence["status"] == "asserted" and sentence["text"] in _slide(frame, slide)


# --------------------------------------------------------------------------- conditions


def test_gap_holds_on_the_calibrated_survey_with_its_figures() -> None:
    table = calibrated_marts()[HEADLINES_KEY][0]
    most = _condition(table, 14, "each")
    assert most["clause"] == "gap" and most["held"]
    assert most["figures"]["units"][0]["ministry_pct"] == pytest.approx(100 * 22 / 34, abs=1e-4)
    unmet = _condition(table, 14, "interval_above")["figures"]["units"][0]
    # 330/552 hires want it; 12/34 ministries do not give it
    assert unmet["a_pct"] == pytest.approx(100 * 330 / 552, abs=1e-4)
    assert unmet["b_pct"] == pytest.approx(100 * 12 / 34, abs=1e-4)
    assert unmet["ci_low"] > 0 and unmet["held"]


def test_gap_is_not_asserted_when_few_ministries_give_the_support() -> None:
    # 府省特有の文化やルールに関する説明: 10/34 ministries (29%) instead of 22/34
    frame = _headlines(ministry={"q13": (10, 20, 18, 14, 12, 8, 5, 4, 9, 11, 7)})
    s14 = _slide(frame, 14)
    assert "ギャップ" not in s14
    assert "「府省特有の文化やルールに関する解説の充実」について、取り組みや改善があれば、" in s14
    assert "より満足度が向上すると回答している。また、" in s14
    most = _condition(frame, 14, "each")
    assert not most["held"] and most["figures"]["units"][0]["ministry_pct"] < 50
    assert _sentence(frame, 14, 1)["status"] == "reworded"
    assert frame.loc[frame["slide"] == 14, "conditions_failed"].iloc[0] == 2


def test_gap_is_not_asserted_when_the_difference_is_within_its_interval() -> None:
    # the top wish drops to 200/552 (36%): hardly more than the 35% of ministries not giving it
    wishes = (200, 185, 45, 172, 70, 105, 160, 166, 80, 130, 35, 12)
    frame = _headlines(hires={"support_wishes": wishes})
    s14 = _slide(frame, 14)
    assert "約４割の交流採用者が、「府省特有の文化やルールに関する解説の充実」について" in s14
    assert "ギャップ" not in s14 and "回答している。" in s14
    assert _condition(frame, 14, "each")["held"]  # most ministries do give it ...
    unmet = _condition(frame, 14, "interval_above")  # ... but the difference is not clear
    (unit,) = unmet["figures"]["units"]
    assert not unmet["held"] and unit["ci_low"] < 0 < unit["ci_high"]


def test_contrast_is_dropped_when_the_hires_want_it_less_than_ministries_give_it() -> None:
    # few hires wish for anything: 人脈 30 and 懇親会 28 of 291 answering (10%) against
    # 12% and 15% of the ministries
    wishes = (60, 50, 5, 45, 10, 20, 28, 30, 15, 25, 3, 0)
    frame = _headlines(hires={"support_wishes": wishes})
    s14 = _slide(frame, 14)
    assert "また、" not in s14 and "いずれも" not in s14
    assert "ギャップ" not in s14
    contrast = _condition(frame, 14, "each", sentence=2)
    assert not contrast["held"]
    assert {u["label"] for u in contrast["figures"]["units"]} == {
        "府省内における人脈形成のための支援",
        "民間企業出身者向けの懇親会等の交流の機会の付与",
    }
    assert _sentence(frame, 14, 2)["status"] == "dropped"


def test_no_slide_names_the_same_item_twice() -> None:
    # the hires' top wish is now 人脈, which few ministries give: sentence 2 would name it again
    wishes = (150, 185, 45, 172, 70, 105, 160, 330, 80, 130, 35, 12)
    frame = _headlines(hires={"support_wishes": wishes})
    s14 = _slide(frame, 14)
    assert s14.count("府省内における人脈形成のための支援") == 1
    assert "約６割の交流採用者が、「府省内における人脈形成のための支援」について" in s14
    assert "ギャップ" not in s14  # 12% of ministries give it: no "they think they do" gap
    assert "と回答した「民間企業出身者向けの懇親会等の交流の機会の付与」について" in s14
    # one support named: no いずれも
    assert s14.endswith("力を入れて行っていると回答した組織の割合は、２割に満たない。")
    assert [u["label"] for u in _sentence(frame, 14, 2)["units"]] == [
        "民間企業出身者向けの懇親会等の交流の機会の付与"
    ]


def test_next_is_reworded_when_nothing_is_left_below() -> None:
    # 役職段階 14; the five other named criteria tie at 3 and その他 is not a finding
    frame = _headlines(ministry={"q06": (14, 3, 3, 3, 3, 3, 0)})
    s6 = _slide(frame, 6)
    assert "次いで" not in s6
    assert (
        "このほか、「年齢」「派遣先企業の業種に関連した業務に従事した経験を有していること」" in s6
    )
    assert s6.endswith("を重視している組織が約２割。")
    rest = _condition(frame, 6, "above_rest", sentence=2)
    assert not rest["held"] and rest["figures"]["highest_rest"] is None
    assert _condition(frame, 6, "below_top", sentence=2)["held"]
    assert _sentence(frame, 6, 2)["status"] == "reworded"


def test_order_is_reworded_when_items_tie() -> None:
    frame = _headlines(ministry={"q03_2": (0, 0, 1, 6, 8, 1)})  # 14 positive, as item 1
    s3 = _slide(frame, 3)
    assert "の順に" not in s3
    assert s3 == (
        "肯定的な回答が最も多いのは、「民間の業務手法やノウハウの体得」「視野の広がり」（約９割）。"
    )
    order = _condition(frame, 3, "descending")
    assert not order["held"]
    assert [u["value"] for u in order["figures"]["named"]][:2] == [87.5, 87.5]


def test_also_is_reworded_when_the_items_are_not_mostly_positive() -> None:
    frame = _headlines(ministry={"q02_4": (2, 4, 4, 4, 2), "q02_5": (2, 4, 4, 4, 2)})
    s2 = _slide(frame, 2)
    assert "好影響については、肯定的な回答が３割超" in s2 and "についても" not in s2
    assert not _condition(frame, 2, "each", sentence=2)["held"]


def test_flipped_slides_keep_conditions_consistent_with_their_figures() -> None:
    """Whatever the data, a stored condition that failed never leaves its wording behind."""
    frames = [
        _headlines(ministry={"q13": (10, 20, 18, 14, 12, 8, 5, 4, 9, 11, 7)}),
        _headlines(hires={"support_wishes": (60, 50, 5, 45, 10, 20, 28, 30, 15, 25, 3, 0)}),
        _headlines(ministry={"q06": (14, 3, 3, 3, 3, 3, 0), "q03_2": (0, 0, 1, 6, 8, 1)}),
    ]
    guarded = {"below_top": "このほか", "above_rest": "次いで", "descending": "の順に"}
    for frame in frames:
        for row in frame.itertuples():
            for c in json.loads(row.conditions):
                if c["held"]:
                    continue
                sentence = json.loads(row.figures)[c["sentence"] - 1]
                assert sentence["status"] in ("reworded", "dropped"), (row.slide, c)
                if c["clause"] == "gap":
                    assert "ギャップ" not in (row.headline or "")
                if c["test"] in guarded and sentence["status"] == "reworded":
                    assert guarded[c["test"]] not in sentence["text"]


def _custom(*sentences: dict[str, Any]) -> dict[str, Any]:
    rules = load_rules()
    slide = {"slide": 99, "title": "test", "sentences": list(sentences)}
    return {"bands": rules["bands"], "labels": rules["labels"], "slides": [slide]}


def _run_rules(rules: dict[str, Any], **counts) -> pd.Series:
    marts = _marts(**counts)
    comparisons = {k: f for k, (f, _) in marts.items() if k.startswith(COMPARISONS_PREFIX)}
    frame = headlines(get_codebook(), marts[QUESTION_RESULTS][0], comparisons, rules)
    return frame.iloc[0]


def test_most_is_reworded_when_a_non_answer_is_chosen_more() -> None:
    rules = _custom(
        {
            "source": {"instrument": "ministry", "question": "q12"},
            "measure": "pct",
            "select": {"rank": [1]},
            "when": [{"test": "top_of_all", "note": "最多"}],
            "otherwise": {
                "bands": {"band": {"family": "about"}},
                "template": "{labels}に苦労した組織が{band}",
            },
            "template": "{labels}が最多",
        }
    )
    # 特になし (20/34) is chosen more than any difficulty; 処遇の違い (10/34) leads the rest
    row = _run_rules(rules, ministry={"q12": (10, 8, 6, 4, 3, 2, 5, 3, 20, 2)})
    assert row["headline"] == "「処遇の違いによる企業側との調整」に苦労した組織が約３割。"
    (c,) = json.loads(row["conditions"])
    assert not c["held"]
    assert c["figures"]["highest_other"] == {
        "code": 9,
        "label": "特になし",
        "value": pytest.approx(100 * 20 / 34, abs=1e-4),
        "substantive": False,
    }
    # and when the difficulty does lead, 最多 stands
    held = _run_rules(rules, ministry={"q12": (17, 10, 8, 6, 4, 3, 9, 7, 5, 2)})
    assert held["headline"] == "「処遇の違いによる企業側との調整」が最多。"
    assert held["conditions_failed"] == 0


def test_a_failed_condition_without_rewording_drops_the_sentence() -> None:
    rules = _custom(
        {
            "source": {"instrument": "ministry", "question": "q05"},
            "measure": "pct",
            "select": {"codes": [1]},  # the top option: nothing ranks above it
            "when": [{"test": "below_top", "note": "このほか"}],
            "template": "このほか、{labels}",
        }
    )
    row = _run_rules(rules)
    assert pd.isna(row["headline"])
    assert json.loads(row["figures"])[0]["status"] == "dropped"
    assert (row["conditions_checked"], row["conditions_failed"]) == (1, 1)


# --------------------------------------------------------------------------- non-answers

NON_ANSWERS = {
    "q05": (6, 4, 3, 12),  # その他 most chosen
    "q06": (3, 2, 2, 1, 1, 1, 14),
    "q07_reasons": (5, 4, 3, 2, 1, 25),
    "q08_work": (10, 5, 7, 6, 21),  # 特に希望はない
    "q12": (10, 8, 6, 4, 3, 2, 5, 3, 20, 12),  # 特になし, 分からない等
    "q15": (8, 6, 5, 3, 2, 4, 20),  # 最近は新たな企業との人事交流がない
    "q16_reasons": (5, 3, 2, 4, 1, 15),
    "q17_traits": (10, 9, 8, 7, 6, 5, 4, 30),
}


def test_non_answers_are_never_named_even_when_they_top_a_list() -> None:
    frame = _headlines(ministry=NON_ANSWERS)
    text = "".join(frame["headline"].dropna())
    for label in (
        "その他",
        "特になし",
        "分からない等",
        "特に希望はない",
        "分からない、効果未検証等",
        "最近は新たな企業との人事交流がない",
    ):
        assert f"「{label}」" not in text, label
    # the substantive option that leads is named instead, with its own figure
    assert "「処遇の違いによる企業側との調整」に苦労したと回答した組織が、約３割" in _slide(
        frame, 12
    )
    assert "「職員の人員不足で交流派遣をする余裕がない」との回答が約１割" in _slide(frame, 7)
    assert "「異なる環境や組織文化に適応できる」ことを期待する回答が約２割" in _slide(frame, 17)
    assert "「所管行政と関連する分野の業務」を経験させたいとする回答が約２割" in _slide(frame, 8)
    assert "「将来の幹部候補として育成している職員等に対する経験付与」" in _slide(frame, 5)
    assert "「企業からの申出」とする回答が約２割" in _slide(frame, 15)


# --------------------------------------------------------------------------- traceable


def test_each_headline_stores_its_figures_and_bands() -> None:
    table = calibrated_marts()[HEADLINES_KEY][0]
    traits = _sentence(table, 17, 2)
    assert traits["source"] == "ministry/q17_traits" and traits["measure"] == "pct"
    (unit,) = traits["units"]
    assert (unit["code"], unit["label"], unit["n"], unit["base_n"]) == (
        1,
        "異なる環境や組織文化に適応できる",
        29,
        49,
    )
    assert unit["value"] == pytest.approx(100 * 29 / 49, abs=1e-4)
    assert traits["bands"]["band"] == {
        "text": "約６割",
        "family": "about",
        "measure": "pct",
        "values": [pytest.approx(100 * 29 / 49, abs=1e-4)],
        "range": "[55, 65)",
    }
    assert traits["text"] in _slide(table, 17)
    first = _sentence(table, 1, 1)
    assert [u["value"] for u in first["units"]] == [93.75] * 4
    assert first["units"][0]["positive_n"] == 15 and "n" not in first["units"][0]
    assert first["bands"]["band"]["range"] == "(90, 100]"
    gap = _sentence(table, 14, 2)["bands"]
    assert (gap["ministry_band"]["text"], gap["ministry_band"]["range"]) == (
        "２割に満たない",
        "[10, 20)",
    )


# --------------------------------------------------------------------------- any data


def _random_results(seed: int) -> pd.DataFrame:
    """The calibrated marts with every count redrawn within its base: data unlike the
    demo's, as another wave's exports could be."""
    rng = np.random.default_rng(seed)
    results = calibrated_marts()[QUESTION_RESULTS][0].copy()
    base = results["base_n"].astype(float)
    for n_col, pct_col in (("n", "pct"), ("positive_n", "positive_pct")):
        drawn = rng.integers(0, base.astype(int) + 1).astype(float)
        # a skewed draw now and then, so that one option (a non-answer too) dominates
        drawn = np.where(rng.random(len(base)) < 0.2, base, drawn)
        keep = results[n_col].notna()
        results[n_col] = pd.array(np.where(keep, drawn, np.nan), dtype="Int32")
        results[pct_col] = np.where(keep, 100 * drawn / base, np.nan)
    return results


@pytest.mark.parametrize("seed", range(12))
def test_no_headline_asserts_what_its_stored_figures_contradict(seed: int) -> None:
    cb = get_codebook()
    results = _random_results(seed)
    frame = headlines(cb, results, comparison_tables(cb, results))
    non_answers = {
        f"「{o.label}」"
        for form in cb.forms
        for e in form.questions
        for o in e.options
        if not o.substantive
    }
    for row in frame.itertuples():
        text = row.headline or ""
        assert not [x for x in non_answers if x in text], (row.slide, text)
        quoted = re.findall(r"「[^」]*」", text)
        assert len(quoted) == len(set(quoted)), (row.slide, text)
        figures, conditions = json.loads(row.figures), json.loads(row.conditions)
        for c in conditions:
            status = figures[c["sentence"] - 1]["status"]
            assert c["held"] or status in ("reworded", "dropped"), (row.slide, c)
        spoken = [f for f in figures if f["status"] in ("asserted", "reworded")]
        assert all(f["text"] in text for f in spoken), (row.slide, text)
        by_test = {(c["sentence"], c["test"], c["clause"]): c for c in conditions}
        for f in spoken:
            said, number = f["text"], f["sentence"]
            if "ギャップ" in said:
                most = by_test[(number, "each", "gap")]["figures"]["units"]
                unmet = by_test[(number, "interval_above", "gap")]["figures"]["units"]
                assert all(u["ministry_pct"] >= 50 for u in most)
                assert all(u["ci_low"] > 0 for u in unmet)
            if "次いで" in said:
                top = by_test[(number, "below_top", None)]["figures"]
                rest = by_test[(number, "above_rest", None)]["figures"]
                assert top["top"]["value"] > top["highest_named"]
                assert rest["lowest_named"] > rest["highest_rest"]["value"]
            if "の順に" in said:
                values = [u["value"] for u in f["units"]]
                assert all(a > b for a, b in pairwise(values)), values
            if "最多" in said:
                most_of_all = by_test[(number, "top_of_all", None)]["figures"]
                other = most_of_all["highest_other"]
                assert other is None or most_of_all["lowest_named"] >= other["value"]
            if "いずれも" in said:
                assert len(f["units"]) > 1
            if said.startswith("また、"):
                for u in by_test[(number, "each", None)]["figures"]["units"]:
                    assert u["hires_pct"] > u["ministry_pct"]
