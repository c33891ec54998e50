"""Small fact tables for the mart tests, built from readable per-response dicts.

A response is {"id": ..., <attribute id>: label, <question id>: answer}, where the answer of a
single question is a label, of a multi/top-N question a list of labels, of a likert question
a list with one label (or None) per item. Routing (exposures.shown) follows the codebook's
asked_if, transitively, as facts.py does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

import pandas as pd

from koryu_pipeline.codebook import Codebook, Entry, Form, normalise_text
from koryu_pipeline.codebook.routing import routed_mask
from koryu_pipeline.demo.calibration import HIRES_COUNTS, MINISTRY_COUNTS
from koryu_pipeline.ingest.facts import build_answers_and_exposures, build_respondents
from koryu_pipeline.warehouse.frames import conform
from koryu_pipeline.warehouse.tables import (
    ANSWERS_SCHEMA,
    EXPOSURES_SCHEMA,
    RESPONDENTS,
    table_registry,
)


def _shown(form: Form, entry: Entry, resp: dict[str, Any]) -> bool:
    """Whether the routing shows `entry` to one response dict (the production rule)."""
    wide = _wide(form, [{**resp, "id": 0}], "x", "x")
    return bool(routed_mask(form, entry, wide).iloc[0])


def _cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        return normalise_text(value)
    return tuple(normalise_text(v) for v in value) or None


def _wide(form: Form, responses: list[dict[str, Any]], instrument: str, wave: str) -> pd.DataFrame:
    """Response dicts -> the validated wide frame that facts.py consumes."""
    rows = []
    for row_no, resp in enumerate(responses, start=2):
        row: dict[str, Any] = {
            "respondent_id": f"{instrument}-{wave}-{resp['id']}",
            "submitted_at": datetime(2023, 11, 20, tzinfo=UTC),
            "source_file": "fixture.csv",
            "source_row": row_no,
        }
        for e in form.entries:
            value = resp.get(e.id)
            if e.items:
                values = list(value) if value else [None] * len(e.items)
                row.update({i.item_id: _cell(values[i.sort - 1]) for i in e.items})
            else:
                row[e.id] = _cell(value)
        rows.append(row)
    return pd.DataFrame(rows)


def make_facts(
    codebook: Codebook, instrument: str, wave: str, responses: list[dict[str, Any]]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Fact tables from response dicts, built by the production facts.py."""
    form = codebook.form(instrument, wave)
    wide = _wide(form, responses, instrument, wave)
    answers, exposures = build_answers_and_exposures(form, wide)
    return (
        conform(
            build_respondents(form, wide, codebook), table_registry(codebook)[RESPONDENTS].schema
        ),
        conform(answers, ANSWERS_SCHEMA),
        conform(exposures, EXPOSURES_SCHEMA),
    )


def concat_facts(
    *parts: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    respondents, answers, exposures = (
        pd.concat(list(frames), ignore_index=True) for frames in zip(*parts, strict=True)
    )
    return respondents, answers, exposures


# Five ministry responses, hand-tabulated in the tests. Routing: R1, R2, R4 dispatch (q01-q06);
# q07_reasons goes to R1, R4 (どちらともいえない) and R3 (消極的); R4 leaves it blank.
LIKERT = (
    "当てはまらない",
    "あまり当てはまらない",
    "どちらともいえない",
    "やや当てはまる",
    "よく当てはまる",
)
NO, LITTLE, NEUTRAL, RATHER, VERY = LIKERT
DK = "分からない"
NO_CASE = "十分な成果を得られなかったケースはない"
UNKNOWN = "分からない、効果未検証等"
PROACTIVE = "更なる交流派遣に積極的である"
UNDECIDED = "どちらともいえない"
RELUCTANT = "更なる交流派遣には消極的である（交流派遣を縮小したい）"
SHORTAGE = "職員の人員不足で交流派遣をする余裕がない"
ADAPT = "異なる環境や組織文化に適応できる"

SMALL_MINISTRY: list[dict[str, Any]] = [
    {
        "id": 1,
        "org_name": "甲省",
        "org_type": "府省",
        "s_dispatch": "はい",
        "s_hire": "はい",
        "q01": [VERY, RATHER, NEUTRAL, NO, LITTLE, None],
        "q03": [DK, VERY, RATHER, LITTLE],
        "q04": [NO_CASE],
        "q06": ["役職段階", "年齢"],
        "q07": UNDECIDED,
        "q07_reasons": [SHORTAGE, "その他"],
        "q08_age": "30代",
        "q17_traits": [ADAPT, "コミュニケーション能力が高い", "主体性・積極性がある"],
    },
    {
        "id": 2,
        "org_name": "乙庁",
        "org_type": "行政執行法人",
        "s_dispatch": "はい",
        "s_hire": "いいえ",
        "q01": [RATHER] * 6,
        "q03": [DK, DK, VERY, VERY],
        "q04": [UNKNOWN],
        "q06": ["役職段階"],
        "q07": PROACTIVE,
        "q07_reasons": [SHORTAGE],  # not routed: must not count
        "q08_age": "30代",
        "q17_traits": [ADAPT],
    },
    {
        "id": 3,
        "org_name": "丙省",
        "org_type": "府省",
        "s_dispatch": "いいえ",
        "s_hire": "はい",
        "q07": RELUCTANT,
        "q07_reasons": [SHORTAGE],
        "q08_age": "40代",
        "q17_traits": ["専門的な知識・スキルを有している", ADAPT],
    },
    {
        "id": 4,
        "org_name": "丁省",
        "org_type": "府省",
        "s_dispatch": "はい",
        "s_hire": "はい",
        "q01": [VERY] * 6,
        "q03": [VERY, DK, NEUTRAL, NO],
        "q04": [NO_CASE],
        "q06": ["年齢", "その他"],
        "q07": UNDECIDED,
    },
    {
        "id": 5,
        "org_name": "戊庁",
        "org_type": "行政執行法人",
        "s_dispatch": "いいえ",
        "s_hire": "いいえ",
        "q07": PROACTIVE,
        "q08_age": "20代",
    },
]


# ---------------------------------------------------------------------------- calibrated
# A whole survey dealt from counts per option code (likert items: per scale point), made to
# state every headline of the seed: 49 organisations (16 dispatch, 34 hire), 552 hires.
# The demo generator's calibration (counts per option code among those routed), so the
# headline tests and the demo exports state the seed from the same figures.
CALIBRATED_MINISTRY: dict[str, tuple[int, ...]] = MINISTRY_COUNTS
CALIBRATED_HIRES: dict[str, tuple[int, ...]] = HIRES_COUNTS


def _labels(entry: Entry, counts: tuple[int, ...]) -> list[str]:
    """Option labels repeated by their counts, in option order."""
    return [o.label for o, c in zip(entry.options, counts, strict=False) for _ in range(c)]


def _deal(form: Form, counts: dict[str, tuple[int, ...]], responses: list[dict[str, Any]]) -> None:
    """Give each question's counts to the respondents routed to it, in form order (so a
    follow-up sees its parent's answers): single/likert sequentially, multi cyclically (no
    respondent gets an option twice, each one gets about the same number of choices)."""
    for entry in form.questions:
        routed = [r for r in responses if _shown(form, entry, r)]
        if entry.type == "likert":
            for r in routed:
                r[entry.id] = [None] * len(entry.items)
            for item in entry.items:
                cs = counts.get(item.item_id, ())
                for r, label in zip(routed, _labels(entry, cs), strict=False):
                    r[entry.id][item.sort - 1] = label
        elif entry.type == "single":
            cs = counts.get(entry.id, ())
            for r, label in zip(routed, _labels(entry, cs), strict=False):
                r[entry.id] = label
        else:
            cs = counts.get(entry.id, ())
            chosen: list[list[str]] = [[] for _ in routed]
            start = 0
            for o, c in zip(entry.options, cs, strict=False):
                assert c <= len(routed), (entry.id, o.label)
                for j in range(c):
                    chosen[(start + j) % len(routed)].append(o.label)
                start += c
            for r, labels in zip(routed, chosen, strict=True):
                r[entry.id] = labels


def calibrated_facts(
    codebook: Codebook,
    ministry: dict[str, tuple[int, ...]] | None = None,
    hires: dict[str, tuple[int, ...]] | None = None,
    wave: str = "2023",
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    m_form = codebook.form("ministry", wave)
    orgs = [
        {
            "id": i,
            "org_name": f"組織{i:02d}",
            "org_type": "府省" if i % 3 else "行政執行法人",
            "s_dispatch": "はい" if i < 16 else "いいえ",
            "s_hire": "はい" if 10 <= i < 44 else "いいえ",
        }
        for i in range(49)
    ]
    _deal(m_form, {**CALIBRATED_MINISTRY, **(ministry or {})}, orgs)
    parts = [make_facts(codebook, "ministry", wave, orgs)]
    if hires is not False:
        h_form = codebook.form("hires", wave)
        ages = [o.label for o in h_form.entry("age_band").options]
        industries = [o.label for o in h_form.entry("industry").options]
        people = [
            {
                "id": i,
                "host_org_type": "府省" if i % 7 else "行政執行法人",
                "age_band": ages[i % len(ages)],
                "industry": industries[i % 3],
            }
            for i in range(552)
        ]
        _deal(h_form, {**CALIBRATED_HIRES, **(hires or {})}, people)
        parts.append(make_facts(codebook, "hires", wave, people))
    return concat_facts(*parts)


@cache
def calibrated_marts() -> dict[str, tuple[pd.DataFrame, Any]]:
    """build_marts on the calibrated survey (built once per test session)."""
    from koryu_pipeline.codebook import get_codebook
    from koryu_pipeline.marts.build import build_marts
    from koryu_pipeline.settings import Settings

    cb = get_codebook()
    return build_marts(cb, *calibrated_facts(cb), Settings().suppress_below)
