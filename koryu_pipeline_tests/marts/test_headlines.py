"""Headlines: band wording, the rules on a calibrated survey, bands that flip with the data,
and (when the demo warehouse exists) the end-to-end check against the seed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.marts.build import build_marts
from koryu_pipeline.marts.headlines import (
    band_text,
    fullwidth,
    load_rules,
)
from koryu_pipeline.settings import Settings
from koryu_pipeline.warehouse.tables import HEADLINES as HEADLINES_KEY
from koryu_pipeline.warehouse.tables import HEADLINES_SCHEMA
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


def _headlines(**counts) -> pd.DataFrame:
    cb = get_codebook()
    return build_marts(cb, *calibrated_facts(cb, **counts), Settings().suppress_below)[
        HEADLINES_KEY
    ][0]


def _slide(frame: pd.DataFrame, slide: int) -> str:
    return frame.loc[frame["slide"] == slide, "headline"].iloc[0]


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
    ],
)
def test_band_text(family: str, values: list[float], text: str) -> None:
    assert band_text(values, FAMILIES[family]) == text


def test_fullwidth() -> None:
    assert fullwidth("30代、ｎ=16、約7割") == "３０代、ｎ=１６、約７割"


def test_rules_are_patterns_not_sentences() -> None:
    for slide in load_rules()["slides"]:
        for sentence in slide["sentences"]:
            assert "{" in sentence["template"], (slide["slide"], sentence["template"])


# --------------------------------------------------------------------------- on data


def test_calibrated_survey_states_the_seed() -> None:
    table = calibrated_marts()[HEADLINES_KEY][0]
    assert list(table.columns) == HEADLINES_SCHEMA.names
    assert len(table) == 17
    assert_fragments(table)
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
    assert "いずれも２割に満たない" in s14


# --------------------------------------------------------------------------- end to end


def test_demo_warehouse_headlines_state_the_seed(demo_warehouse: Path) -> None:
    """`koryu run` on the bundled demo exports: every slide's headline states the seed's."""
    frame = pd.read_parquet(demo_warehouse / "marts" / "headlines" / "part-0.parquet")
    assert sorted(frame["slide"]) == list(range(1, 18))
    assert_fragments(frame)
