"""Accepted responses -> facts/respondents, facts/answers, facts/exposures."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.codebook.routing import routed_mask
from koryu_pipeline.ingest.checks import fact_schema
from koryu_pipeline.ingest.facts import (
    answer_cells,
    build_answers,
    build_answers_and_exposures,
    build_exposures,
    build_respondents,
)
from koryu_pipeline.ingest.readers import export_files, read_export
from koryu_pipeline.ingest.readers.msforms_xlsx import read_msforms_xlsx
from koryu_pipeline.ingest.validation import validate_wave
from koryu_pipeline.warehouse.tables import (
    ANSWERS_SCHEMA,
    EXPOSURES_SCHEMA,
    RESPONDENTS,
    table_registry,
)
from koryu_pipeline_tests.exports import (
    assert_conserved,
    base_hires,
    base_ministry,
    toy_form,
    write_google_csv,
    write_msforms_xlsx,
)


def accepted(raw: Path, instrument: str):
    cb = get_codebook()
    parsed = [
        read_export(p, raw, cb, instrument, "2023") for p in export_files(raw, instrument, "2023")
    ]
    form = cb.form(instrument, "2023")
    result = validate_wave(form, parsed)
    assert_conserved(result, parsed)
    return form, result.accepted


def facts(raw: Path, instrument: str):
    cb = get_codebook()
    form, wide = accepted(raw, instrument)
    answers, exposures = build_answers_and_exposures(form, wide)
    respondents = build_respondents(form, wide, cb)
    return respondents, answers, exposures


DISPATCHING = dict(
    org_name="派遣省",
    s_dispatch="はい",
    q01_1="よく当てはまる",
    q01_2="やや当てはまる",
    q03_4="分からない",
    q06=["年齢", "役職段階"],  # given out of form order
    q07="どちらともいえない",
    q07_reasons=["その他"],
    q17_traits=["ｺﾐｭﾆｹｰｼｮﾝ能力が高い", "主体性・積極性がある"],  # half-width katakana
    q16="更なる交流採用には消極的である(交流採用を縮小したい)",  # half-width brackets
)


@pytest.fixture
def ministry_raw(tmp_path):
    raw = tmp_path / "raw"
    write_msforms_xlsx(
        raw / "ministry" / "2023" / "export.xlsx",
        [base_ministry(), base_ministry(**DISPATCHING)],
    )
    return raw


def _of(frame: pd.DataFrame, respondents: pd.DataFrame, org: str) -> pd.DataFrame:
    rid = respondents.loc[respondents["org_name"] == org, "respondent_id"].item()
    return frame[frame["respondent_id"] == rid]


def test_answers_one_row_per_chosen_option(ministry_raw):
    respondents, answers, _ = facts(ministry_raw, "ministry")
    assert list(answers.columns) == ANSWERS_SCHEMA.names
    mine = _of(answers, respondents, "派遣省")
    rows = [
        (q, None if pd.isna(i) else i, None if pd.isna(il) else il, c, lab, s)
        for q, i, il, c, lab, s in mine[
            ["question_id", "item_id", "item_label", "option_code", "option_label", "option_sort"]
        ].itertuples(index=False)
    ]
    assert rows == [
        ("q01", "q01_1", "民間との相互理解の促進を図るため", 5, "よく当てはまる", 5),
        ("q01", "q01_2", "職員の育成のため", 4, "やや当てはまる", 4),
        ("q03", "q03_4", "仕事やキャリアに対するモチベーションの向上", 6, "分からない", 6),
        ("q06", None, None, 1, "役職段階", 1),
        ("q06", None, None, 2, "年齢", 2),
        ("q07", None, None, 2, "どちらともいえない", 2),
        ("q07_reasons", None, None, 6, "その他", 6),
        ("q08_age", None, None, 2, "30代", 2),
        ("q08_work", None, None, 1, "所管行政と関連する分野の業務", 1),
        # verbatim labels, whatever width the export wrote them in
        ("q16", None, None, 3, "更なる交流採用には消極的である（交流採用を縮小したい）", 3),
        ("q17_age", None, None, 2, "30代", 2),
        ("q17_traits", None, None, 4, "コミュニケーション能力が高い", 4),
        ("q17_traits", None, None, 5, "主体性・積極性がある", 5),
    ]
    # attributes are no questions
    assert not answers["question_id"].isin(["org_name", "org_type", "s_dispatch"]).any()
    assert mine["instrument"].unique().tolist() == ["ministry"]
    assert mine["wave"].unique().tolist() == [2023]
    assert (mine.loc[mine["item_id"].notna(), "item_sort"].tolist()) == [1, 2, 4]
    form = get_codebook().form("ministry", "2023")
    order = [e.id for e in form.entries]
    assert mine["question_sort"].tolist() == [order.index(q) + 1 for q, *_ in rows]


def test_exposures_follow_routing(ministry_raw):
    respondents, _, exposures = facts(ministry_raw, "ministry")
    assert list(exposures.columns) == EXPOSURES_SCHEMA.names
    form = get_codebook().form("ministry", "2023")
    n_fields = sum(1 for f in form.fields if not f.entry.is_attribute)
    assert len(exposures) == 2 * n_fields
    assert not exposures.duplicated(["respondent_id", "question_id", "item_id"]).any()

    def flags(org: str) -> dict[str, tuple[bool, bool]]:
        mine = _of(exposures, respondents, org)
        return {
            (i if isinstance(i, str) else q): (s, a)
            for q, i, s, a in mine[["question_id", "item_id", "shown", "answered"]].itertuples(
                index=False
            )
        }

    plain = flags("テスト省")
    assert plain["q01_1"] == (False, False)  # s_dispatch = いいえ
    assert plain["q04"] == (False, False)
    assert plain["q13"] == (False, False)
    assert plain["q07"] == (True, True)
    assert plain["q07_reasons"] == (False, False)  # q07 = 積極的
    assert plain["q16_reasons"] == (False, False)
    assert plain["q17_traits"] == (True, True)

    disp = flags("派遣省")
    assert disp["q01_1"] == (True, True)
    assert disp["q01_3"] == (True, False)  # shown, item left blank
    assert disp["q04"] == (True, False)
    assert disp["q06"] == (True, True)
    assert disp["q07_reasons"] == (True, True)
    assert disp["q09_1"] == (False, False)  # s_hire = いいえ
    assert disp["q16_reasons"] == (True, False)  # q16 = 消極的, reasons skipped


def test_respondents_carry_attribute_labels_and_codes(ministry_raw):
    respondents, _, _ = facts(ministry_raw, "ministry")
    assert list(respondents.columns) == table_registry(get_codebook())[RESPONDENTS].schema.names
    r = respondents.set_index("org_name")
    assert r.loc["派遣省", "s_dispatch"] == "はい" and r.loc["派遣省", "s_dispatch_code"] == 1
    assert r.loc["テスト省", "s_dispatch"] == "いいえ" and r.loc["テスト省", "s_dispatch_code"] == 2
    assert r.loc["テスト省", "org_type"] == "府省" and r.loc["テスト省", "org_type_code"] == 1
    assert r["source_file"].unique().tolist() == ["ministry/2023/export.xlsx"]
    assert sorted(r["source_row"]) == [2, 3]
    assert r["submitted_at"].dt.tz is not None
    # the hires form's attributes are there, empty
    assert r["host_org_type"].isna().all() and r["industry_code"].isna().all()
    assert respondents["respondent_id"].is_monotonic_increasing


def test_hires_respondents_and_answers(tmp_path):
    raw = tmp_path / "raw"
    write_google_csv(
        raw / "hires" / "2023" / "export.csv",
        [
            base_hires(
                age_band="４０代",
                industry="金融･保険業",
                satisfaction_2=None,
                support_wishes=["公務員倫理等服務上の教育の機会付与(研修など)"],
            ),
        ],
        encoding="cp932",
    )
    respondents, answers, exposures = facts(raw, "hires")
    r = respondents.iloc[0]
    assert (r["age_band"], r["age_band_code"]) == ("40代", 3)
    assert (r["industry"], r["industry_code"]) == ("金融・保険業", 2)
    assert (r["host_org_type"], r["host_org_type_code"]) == ("府省", 1)
    assert pd.isna(r["org_name"]) and pd.isna(r["s_dispatch_code"])
    assert r["respondent_id"].startswith("h")
    assert answers[["question_id", "item_id", "option_code", "option_label"]].fillna(
        "-"
    ).values.tolist() == [
        ["satisfaction", "satisfaction_1", 5, "満足"],
        ["satisfaction", "satisfaction_3", 5, "満足"],
        ["support_wishes", "-", 3, "公務員倫理等服務上の教育の機会付与（研修など）"],
    ]
    x = exposures.set_index(exposures["item_id"].fillna(exposures["question_id"]))
    assert x.loc["satisfaction_2", ["shown", "answered"]].tolist() == [True, False]
    assert x["shown"].all()


def test_facts_are_made_from_the_fields_without_the_response_keys(ministry_raw):
    """The wave drops the accepted rows' long response keys before it makes the facts, and
    makes the answers and the exposures one after the other from the same cells."""
    cb = get_codebook()
    form, wide = accepted(ministry_raw, "ministry")
    answers, exposures = build_answers_and_exposures(form, wide)
    lean = wide.drop(columns=["response_key"])
    cells = answer_cells(form, lean)
    assert_frame_equal(build_answers(form, cells), answers)
    assert_frame_equal(build_exposures(form, cells), exposures)
    assert_frame_equal(build_respondents(form, lean, cb), build_respondents(form, wide, cb))


def test_fact_frames_pass_their_schemas(ministry_raw):
    cb = get_codebook()
    respondents, answers, exposures = facts(ministry_raw, "ministry")
    fact_schema(cb, "facts/respondents").validate(respondents)
    fact_schema(cb, "facts/answers").validate(answers)
    fact_schema(cb, "facts/exposures").validate(exposures)


def test_respondent_id_ignores_personal_columns(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write_msforms_xlsx(
        a / "ministry" / "2023" / "x.xlsx", [base_ministry(), base_ministry(**DISPATCHING)]
    )
    write_msforms_xlsx(
        b / "ministry" / "2023" / "x.xlsx",
        [
            base_ministry(メール="changed@example.org", 名前="佐藤 次郎"),
            base_ministry(**DISPATCHING, メール=None, 名前=None),
        ],
    )
    ra, aa, xa = facts(a, "ministry")
    rb, ab, xb = facts(b, "ministry")
    pd.testing.assert_frame_equal(ra, rb)
    pd.testing.assert_frame_equal(aa, ab)
    pd.testing.assert_frame_equal(xa, xb)
    # and again: stable across re-runs
    pd.testing.assert_frame_equal(ra, facts(a, "ministry")[0])
    for rid in ra["respondent_id"]:
        assert rid[0] == "m" and all(c in "0123456789abcdef" for c in rid[1:])


def test_empty_wave_gives_empty_facts(tmp_path):
    raw = tmp_path / "raw"
    write_msforms_xlsx(raw / "ministry" / "2023" / "x.xlsx", [base_ministry(q07="xx")])
    respondents, answers, exposures = facts(raw, "ministry")
    assert respondents.empty and answers.empty and exposures.empty
    assert list(answers.columns) == ANSWERS_SCHEMA.names


# ------------------------------------------------------------------ routing chains


@pytest.fixture
def toy(tmp_path):
    return toy_form(tmp_path / "forms")


def _toy_rows():
    return [
        # 0: screened out: nothing routed but q3
        {"org_name": "甲", "screen": "いいえ", "q3": ["ア"]},
        # 1: q1 good: reasons not shown, and so neither is the cost detail
        {"org_name": "乙", "screen": "はい", "q1": "良い", "q2_1": "そう思う", "q3": ["イ"]},
        # 2: bad because of time: reasons shown, cost detail not (routed on a checkbox)
        {"org_name": "丙", "screen": "はい", "q1": "悪い", "q1_why": ["時間"], "q3": ["ウ"]},
        # 3: bad because of cost and time: the whole chain shown
        {
            "org_name": "丁",
            "screen": "はい",
            "q1": "悪い",
            "q1_why": ["時間", "費用"],
            "q1_cost": "高い",
            "q3": ["ア", "エ"],
        },
    ]


def test_routing_chain_and_checkbox_routing(tmp_path, toy):
    path = write_msforms_xlsx(tmp_path / "toy.xlsx", _toy_rows(), toy)
    parsed = read_msforms_xlsx(path.read_bytes(), "toy/2023/toy.xlsx", toy)
    result = validate_wave(toy, [parsed])
    assert_conserved(result, [parsed])
    assert result.rejections.empty
    wide = result.accepted.set_index("org_name", drop=False)
    shown = {e.id: routed_mask(toy, e, wide) for e in toy.questions}
    assert shown["q1"].to_dict() == {"甲": False, "乙": True, "丙": True, "丁": True}
    assert shown["q1_why"].to_dict() == {"甲": False, "乙": False, "丙": True, "丁": True}
    assert shown["q1_cost"].to_dict() == {"甲": False, "乙": False, "丙": False, "丁": True}
    assert shown["q2"].to_dict() == {"甲": False, "乙": True, "丙": True, "丁": True}
    assert shown["q3"].all()
    answers, exposures = build_answers_and_exposures(toy, result.accepted)
    by_org = dict(zip(result.accepted["respondent_id"], result.accepted["org_name"], strict=True))
    x = exposures.assign(org=exposures["respondent_id"].map(by_org))
    q2 = x[x["question_id"] == "q2"]
    assert q2[["org", "item_id", "shown", "answered"]].sort_values(
        ["org", "item_id"]
    ).values.tolist() == [
        ["丁", "q2_1", True, False],
        ["丁", "q2_2", True, False],
        ["丙", "q2_1", True, False],
        ["丙", "q2_2", True, False],
        ["乙", "q2_1", True, True],
        ["乙", "q2_2", True, False],
        ["甲", "q2_1", False, False],
        ["甲", "q2_2", False, False],
    ]
    a = answers.assign(org=answers["respondent_id"].map(by_org))
    assert a.loc[a["org"] == "丁", ["question_id", "option_label"]].values.tolist() == [
        ["q1", "悪い"],
        ["q1_why", "費用"],
        ["q1_why", "時間"],
        ["q1_cost", "高い"],
        ["q3", "ア"],
        ["q3", "エ"],
    ]


def test_routing_is_transitive(tmp_path, toy):
    """A follow-up of a question the respondent was not shown is not shown either, even
    when the export carries a stale answer to the question in between."""
    rows = [
        {"org_name": "甲", "screen": "いいえ", "q1": "悪い", "q1_why": ["費用"], "q1_cost": "高い"},
        {"org_name": "乙", "screen": "はい", "q1": "良い", "q1_why": ["費用"], "q1_cost": "高い"},
    ]
    path = write_msforms_xlsx(tmp_path / "toy.xlsx", rows, toy)
    parsed = read_msforms_xlsx(path.read_bytes(), "toy.xlsx", toy)
    result = validate_wave(toy, [parsed])
    assert_conserved(result, [parsed])
    got = sorted(
        zip(
            result.rejections["source_row"],
            result.rejections["rule"],
            result.rejections["column"],
            strict=True,
        )
    )
    assert got == [
        (2, "not_routed", "q1"),
        (2, "not_routed", "q1_cost"),
        (2, "not_routed", "q1_why"),
        (3, "not_routed", "q1_cost"),
        (3, "not_routed", "q1_why"),
    ]
    assert result.accepted.empty
    # and in the facts, built from the frame as read: the chain is unshown from the top
    wide = parsed.frame.assign(respondent_id=["r1", "r2"])
    _, exposures = build_answers_and_exposures(toy, wide)
    shown = exposures.set_index(["respondent_id", "question_id"])["shown"]
    assert [shown[("r1", q)] for q in ("q1", "q1_why", "q1_cost")] == [False, False, False]
    assert [shown[("r2", q)] for q in ("q1", "q1_why", "q1_cost")] == [True, False, False]
