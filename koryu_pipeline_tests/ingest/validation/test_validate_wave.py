"""validate_wave on real export files: every rule alone and together, file-level problems,
duplicates across exports, superseded submissions, and row conservation in every case."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.ingest.readers import export_files, read_export
from koryu_pipeline.ingest.validation import WaveValidation, validate_wave
from koryu_pipeline_tests.exports import (
    assert_conserved,
    base_hires,
    base_ministry,
    write_google_csv,
    write_msforms_xlsx,
)

FIRST_EXPORT = "ministry/2023/export.xlsx"


class Wave:
    """Write exports into <tmp>/raw/<instrument>/2023, then read and validate them all."""

    def __init__(self, tmp_path: Path, instrument: str = "ministry") -> None:
        self.raw = tmp_path / "raw"
        self.instrument = instrument
        self.folder = self.raw / instrument / "2023"
        self.folder.mkdir(parents=True, exist_ok=True)

    def xlsx(self, rows, name: str = "export.xlsx", **kwargs) -> Path:
        return write_msforms_xlsx(self.folder / name, rows, **kwargs)

    def csv(self, rows, name: str = "export.csv", **kwargs) -> Path:
        return write_google_csv(self.folder / name, rows, **kwargs)

    def bytes(self, name: str, data: bytes) -> Path:
        path = self.folder / name
        path.write_bytes(data)
        return path

    def validate(self) -> WaveValidation:
        cb = get_codebook()
        parsed = [
            read_export(p, self.raw, cb, self.instrument, "2023")
            for p in export_files(self.raw, self.instrument, "2023")
        ]
        result = validate_wave(cb.form(self.instrument, "2023"), parsed)
        assert_conserved(result, parsed)
        return result


def rules(result: WaveValidation) -> list[tuple[int, str, str | None, str | None]]:
    r = result.rejections
    return [
        (int(row), rule, None if pd.isna(col) else col, None if pd.isna(val) else val)
        for row, rule, col, val in zip(
            r["source_row"], r["rule"], r["column"], r["value"], strict=True
        )
    ]


def test_valid_responses_are_accepted(tmp_path):
    wave = Wave(tmp_path)
    wave.xlsx([base_ministry(), base_ministry(org_name="B省")])
    result = wave.validate()
    assert len(result.accepted) == 2 and result.rejections.empty
    assert result.accepted["respondent_id"].str.match(r"^m[0-9a-f]{16}$").all()
    assert result.accepted["respondent_id"].is_unique
    assert result.files[["rows", "accepted", "rejected"]].values.tolist() == [[2, 2, 0]]


# ------------------------------------------------------------------ each rule on its own

ONE_RULE = [
    pytest.param(
        dict(q07="大いに積極的である"),
        ("unknown_option", "q07", "大いに積極的である"),
        id="unknown_single",
    ),
    pytest.param(
        dict(q17_traits=["その他", "空を飛べる"]),
        ("unknown_option", "q17_traits", "空を飛べる"),
        id="unknown_multi",
    ),
    pytest.param(
        dict(org_type="府庁"), ("unknown_option", "org_type", "府庁"), id="unknown_attribute"
    ),
    pytest.param(
        dict(
            q17_traits=[
                "その他",
                "主体性・積極性がある",
                "マネジメント経験がある",
                "コミュニケーション能力が高い",
            ]
        ),
        (
            "too_many_choices",
            "q17_traits",
            "主体性・積極性がある;マネジメント経験がある;コミュニケーション能力が高い;その他",
        ),
        id="too_many_choices",
    ),
    pytest.param(
        dict(s_hire="はい", q12=["特になし", "煩雑な手続き"]),
        ("exclusive_option", "q12", "煩雑な手続き;特になし"),
        id="exclusive_option",
    ),
    pytest.param(
        dict(q01_1="よく当てはまる"),
        ("not_routed", "q01_1", "よく当てはまる"),
        id="not_routed_dispatch",
    ),
    pytest.param(
        dict(q07_reasons=["その他"]),
        ("not_routed", "q07_reasons", "その他"),
        id="not_routed_reasons",
    ),
    pytest.param(dict(org_name=None), ("missing_required", "org_name", None), id="blank_org_name"),
    pytest.param(
        dict(org_name="　 "), ("missing_required", "org_name", None), id="spaces_org_name"
    ),
    pytest.param(dict(org_type=None), ("missing_required", "org_type", None), id="blank_org_type"),
]


@pytest.mark.parametrize(("over", "expected"), ONE_RULE)
def test_each_rule_on_its_own(tmp_path, over, expected):
    wave = Wave(tmp_path)
    wave.xlsx([base_ministry(org_name="A省"), base_ministry(**over), base_ministry(org_name="C省")])
    result = wave.validate()
    got = rules(result)
    assert len(got) == 1
    row, rule, column, value = got[0]
    assert row == 3
    if rule == "too_many_choices" or rule == "exclusive_option":
        assert (rule, column) == expected[:2]
        assert sorted(value.split(";")) == sorted(expected[2].split(";"))
    else:
        assert (rule, column, value) == expected
    assert sorted(result.accepted["source_row"]) == [2, 4]
    msg = result.rejections["message"].iloc[0]
    assert msg.startswith(f"{FIRST_EXPORT} row 3: {rule}: ")
    assert column in msg
    if rule == "unknown_option":
        assert f"「{value}」" in msg


def test_routed_answers_are_accepted(tmp_path):
    wave = Wave(tmp_path)
    wave.xlsx(
        [
            base_ministry(
                s_dispatch="はい", q01_1="よく当てはまる", q04=["分からない、効果未検証等"]
            ),
            base_ministry(org_name="B省", q07="どちらともいえない", q07_reasons=["その他"]),
            base_ministry(
                org_name="C省",
                q07="更なる交流派遣には消極的である（交流派遣を縮小したい）",
                q07_reasons=["職員の人員不足で交流派遣をする余裕がない", "その他"],
            ),
            base_ministry(
                org_name="D省", s_hire="はい", q12=["特になし"], q11=["分からない、効果未検証等"]
            ),
            # a top-3 with exactly three, and a question left unanswered, are fine
            base_ministry(
                org_name="E省",
                q17_traits=["その他", "主体性・積極性がある", "マネジメント経験がある"],
                q08_age=None,
            ),
        ]
    )
    result = wave.validate()
    assert rules(result) == []
    assert len(result.accepted) == 5


@pytest.mark.parametrize(
    ("submitted", "accepted"),
    [
        (datetime(2023, 11, 8, 0, 0), True),  # opening day, Tokyo midnight
        (datetime(2023, 11, 7, 23, 59), False),
        (datetime(2023, 12, 21, 23, 59), True),  # the close date is inclusive
        (datetime(2023, 12, 21, 23, 59, 59), True),
        (datetime(2023, 12, 22, 0, 0, 30), False),
        (datetime(2024, 1, 10, 9, 0), False),
    ],
)
def test_fielding_window_in_tokyo_time(tmp_path, submitted, accepted):
    wave = Wave(tmp_path)
    wave.xlsx([base_ministry()], submitted=[submitted])
    result = wave.validate()
    assert len(result.accepted) == int(accepted)
    if not accepted:
        ((row, rule, column, value),) = rules(result)
        assert (row, rule, column) == (2, "outside_fielding_window", "完了時刻/タイムスタンプ")
        expected = pd.Timestamp(submitted, tz="Asia/Tokyo").tz_convert("UTC").isoformat()
        assert value == expected
        assert "2023-11-08..2023-12-21" in result.rejections["message"].iloc[0]


def test_fielding_window_for_google_timestamps(tmp_path):
    wave = Wave(tmp_path, "hires")
    wave.csv(
        [
            base_hires(タイムスタンプ="2023/12/21 11:59:59 午後 GMT+9"),
            base_hires(タイムスタンプ="2023/12/22 12:00:30 午前 GMT+9"),
            base_hires(タイムスタンプ="2023/11/07 23:59:00"),
            base_hires(タイムスタンプ="2023/11/08 0:00:00"),
        ]
    )
    result = wave.validate()
    assert [r[:2] for r in rules(result)] == [
        (3, "outside_fielding_window"),
        (4, "outside_fielding_window"),
    ]
    assert sorted(result.accepted["source_row"]) == [2, 5]


def test_unreadable_timestamp_is_rejected(tmp_path):
    wave = Wave(tmp_path, "hires")
    wave.csv([base_hires(タイムスタンプ="昨日"), base_hires()])
    result = wave.validate()
    # the cell as written is kept in `value`
    assert rules(result) == [(2, "invalid_timestamp", "完了時刻/タイムスタンプ", "昨日")]
    assert "cannot be read" in result.rejections["message"].iloc[0]


# ------------------------------------------------------------------ several rules at once


def test_every_rule_a_response_broke_is_recorded(tmp_path):
    wave = Wave(tmp_path)
    bad = base_ministry(
        org_type=None,  # missing_required
        q07="xx",  # unknown_option
        q08_age="yy",  # unknown_option in another column
        q17_traits=["zz", "その他", "主体性・積極性がある", "マネジメント経験がある"],  # both
        q01_1="よく当てはまる",  # not_routed
        q04=["十分な成果を得られなかったケースはない", "分からない、効果未検証等"],  # both
    )
    wave.xlsx(
        [base_ministry(org_name="A省"), bad],
        submitted=[datetime(2023, 11, 20), datetime(2023, 12, 22, 1)],
    )
    result = wave.validate()
    got = {(row, rule, column) for row, rule, column, _ in rules(result)}
    assert got == {
        (3, "missing_required", "org_type"),
        (3, "unknown_option", "q07"),
        (3, "unknown_option", "q08_age"),
        (3, "unknown_option", "q17_traits"),
        (3, "too_many_choices", "q17_traits"),
        (3, "not_routed", "q01_1"),
        (3, "not_routed", "q04"),
        (3, "exclusive_option", "q04"),
        (3, "outside_fielding_window", "完了時刻/タイムスタンプ"),
    }
    assert len(result.rejections) == len(got)  # each once
    # rejected whole: nothing of row 3 reaches the accepted frame
    assert result.accepted["source_row"].tolist() == [2]
    assert result.files[["rows", "accepted", "rejected"]].values.tolist() == [[2, 1, 1]]


def test_hires_rules(tmp_path):
    wave = Wave(tmp_path, "hires")
    wave.csv(
        [
            base_hires(),
            base_hires(support_wishes=["特になし", "上司等との面談機会の充実"]),
            base_hires(
                support_wishes=[
                    "上司等との面談機会の充実",
                    "人事担当課における相談窓口の拡充",
                    "府省内における人脈形成のための支援",
                    "前任者からの業務の丁寧な引継ぎ",
                ]
            ),
            base_hires(satisfaction_2="とても満足"),
            base_hires(host_org_type=None, age_band=""),
        ],
        sep=";",
    )
    result = wave.validate()
    assert [r[:3] for r in rules(result)] == [
        (3, "exclusive_option", "support_wishes"),
        (4, "too_many_choices", "support_wishes"),
        (5, "unknown_option", "satisfaction_2"),
        (6, "missing_required", "age_band"),
        (6, "missing_required", "host_org_type"),
    ]
    assert result.accepted["source_row"].tolist() == [2]


# ------------------------------------------------------------------ whole files


def test_file_problems_leave_the_other_files_going_through(tmp_path):
    wave = Wave(tmp_path)
    wave.xlsx([base_ministry(), base_ministry(org_name="B省")], "a_good.xlsx")
    wave.bytes("b_corrupt.xlsx", bytes(range(256)) * 8)
    wave.xlsx(
        [base_ministry(org_name="C省")] * 3,
        "c_old_form.xlsx",
        drop_headers=("組織区分",),
        start_id=50,
    )
    wave.xlsx([base_ministry(org_name="D省", q07="xx")], "d_good.xlsx", start_id=90)
    result = wave.validate()
    files = result.files.set_index("source_file")
    assert files.loc["ministry/2023/a_good.xlsx", ["rows", "accepted", "rejected"]].tolist() == [
        2,
        2,
        0,
    ]
    assert files.loc["ministry/2023/b_corrupt.xlsx", ["rows", "accepted", "rejected"]].tolist() == [
        0,
        0,
        0,
    ]
    assert files.loc[
        "ministry/2023/c_old_form.xlsx", ["rows", "accepted", "rejected"]
    ].tolist() == [3, 0, 3]
    assert files.loc["ministry/2023/d_good.xlsx", ["rows", "accepted", "rejected"]].tolist() == [
        1,
        0,
        1,
    ]
    assert files["file_rejected"].tolist() == [False, True, True, False]
    r = result.rejections
    assert r[["source_file", "rule", "column"]].fillna("-").values.tolist() == [
        ["ministry/2023/b_corrupt.xlsx", "unreadable_file", "-"],
        ["ministry/2023/c_old_form.xlsx", "missing_column", "組織区分"],
        ["ministry/2023/d_good.xlsx", "unknown_option", "q07"],
    ]
    assert r["message"].iloc[0].startswith("ministry/2023/b_corrupt.xlsx: unreadable_file: ")
    assert r["message"].iloc[1].startswith("ministry/2023/c_old_form.xlsx: missing_column: ")
    assert "組織区分" in r["message"].iloc[1]
    assert sorted(result.accepted["org_name"]) == ["B省", "テスト省"]


def test_only_bad_files(tmp_path):
    wave = Wave(tmp_path, "hires")
    wave.bytes("a.csv", b"\x81\x20\xff\xfe" * 10)
    wave.csv([base_hires()], "b.csv", drop_headers=("あなたの年代",))
    result = wave.validate()
    assert result.accepted.empty
    assert result.rejections["rule"].tolist() == ["unreadable_file", "missing_column"]


def test_no_exports_at_all():
    form = get_codebook().form("ministry", "2023")
    result = validate_wave(form, [])
    assert result.accepted.empty and result.rejections.empty and result.files.empty


# ------------------------------------------------------------------ duplicates


def test_same_response_in_partial_and_final_export_counts_once(tmp_path):
    wave = Wave(tmp_path)
    rows = [base_ministry(org_name=f"{n}省") for n in "ABCD"]
    times = [datetime(2023, 11, 20 + n, 10) for n in range(4)]
    # the partial export's name sorts last: the choice must not depend on file names
    wave.xlsx(rows[:2], "z_partial.xlsx", submitted=times[:2])
    wave.xlsx(rows, "final.xlsx", submitted=times)
    result = wave.validate()
    assert sorted(result.accepted["org_name"]) == ["A省", "B省", "C省", "D省"]
    # kept from the most complete export
    assert set(result.accepted["source_file"]) == {"ministry/2023/final.xlsx"}
    assert rules(result) == [(2, "duplicate", None, None), (3, "duplicate", None, None)]
    assert set(result.rejections["source_file"]) == {"ministry/2023/z_partial.xlsx"}
    assert "ministry/2023/final.xlsx row 2" in result.rejections["message"].iloc[0]
    files = result.files.set_index("source_file")
    assert files.loc["ministry/2023/z_partial.xlsx", ["accepted", "rejected"]].tolist() == [0, 2]
    assert files.loc["ministry/2023/final.xlsx", ["accepted", "rejected"]].tolist() == [4, 0]


def test_duplicate_kept_from_the_larger_export_when_both_reach_as_far(tmp_path):
    wave = Wave(tmp_path)
    rows = [base_ministry(org_name=f"{n}省") for n in "ABC"]
    times = [datetime(2023, 11, 20 + n, 10) for n in range(3)]
    wave.xlsx(rows, "a_full.xlsx", submitted=times)
    wave.xlsx(rows[1:], "b_filtered.xlsx", submitted=times[1:], start_id=2)
    result = wave.validate()
    assert set(result.accepted["source_file"]) == {"ministry/2023/a_full.xlsx"}
    assert len(result.accepted) == 3
    assert [r[:2] for r in rules(result)] == [(2, "duplicate"), (3, "duplicate")]


def test_same_anonymous_response_in_two_encodings_counts_once(tmp_path):
    wave = Wave(tmp_path, "hires")
    rows = [base_hires(), base_hires(age_band="40代")]
    wave.csv(rows[:1], "a_partial.csv", encoding="cp932", ampm=True)
    wave.csv(rows, "b_final.csv", encoding="utf-8-sig", sep=";")
    result = wave.validate()
    assert len(result.accepted) == 2
    assert set(result.accepted["source_file"]) == {"hires/2023/b_final.csv"}
    assert [(r[0], r[1]) for r in rules(result)] == [(2, "duplicate")]
    assert result.rejections["source_file"].tolist() == ["hires/2023/a_partial.csv"]


def test_different_responses_with_the_same_answers_are_not_duplicates(tmp_path):
    wave = Wave(tmp_path, "hires")
    wave.csv([base_hires(), base_hires()])  # one second apart
    assert len(wave.validate().accepted) == 2


# ------------------------------------------------------------------ superseded


def test_resubmission_supersedes_the_earlier_one(tmp_path):
    wave = Wave(tmp_path)
    wave.xlsx(
        [
            base_ministry(org_name="A省", q08_age="20代"),
            base_ministry(org_name="B省"),
            base_ministry(org_name="Ａ省 ", q08_age="40代"),  # the same organisation, later
        ],
        submitted=[datetime(2023, 11, 20, 10), datetime(2023, 11, 21), datetime(2023, 11, 22)],
    )
    result = wave.validate()
    assert rules(result) == [(2, "superseded", "org_name,personnel_line", "A省/")]
    assert "ministry/2023/export.xlsx row 4" in result.rejections["message"].iloc[0]
    a = result.accepted[result.accepted["org_name"] == "A省"]
    assert a["q08_age"].tolist() == ["40代"] and a["source_row"].tolist() == [4]


def test_latest_wins_whatever_the_row_order(tmp_path):
    wave = Wave(tmp_path)
    wave.xlsx(
        [base_ministry(q08_age="40代"), base_ministry(q08_age="20代")],
        submitted=[datetime(2023, 12, 1), datetime(2023, 11, 20)],
    )
    result = wave.validate()
    assert [r[:2] for r in rules(result)] == [(3, "superseded")]
    assert result.accepted["q08_age"].tolist() == ["40代"]


def test_supersede_across_exports(tmp_path):
    wave = Wave(tmp_path)
    wave.xlsx([base_ministry(q08_age="20代")], "a.xlsx", submitted=[datetime(2023, 11, 20)])
    wave.xlsx(
        [base_ministry(q08_age="40代")], "b.xlsx", submitted=[datetime(2023, 11, 25)], start_id=7
    )
    result = wave.validate()
    assert result.rejections[["source_file", "rule"]].values.tolist() == [
        ["ministry/2023/a.xlsx", "superseded"]
    ]
    assert result.accepted["source_file"].tolist() == ["ministry/2023/b.xlsx"]


def test_different_personnel_lines_are_different_respondents(tmp_path):
    wave = Wave(tmp_path)
    wave.xlsx(
        [
            base_ministry(org_name="A省", personnel_line="行政職"),
            base_ministry(org_name="A省", personnel_line="技術職"),
            base_ministry(org_name="A省"),
        ]
    )
    result = wave.validate()
    assert result.rejections.empty
    assert len(result.accepted) == 3


def test_duplicate_and_superseded_together(tmp_path):
    """A partial export holds an organisation's first submission; the final export holds it
    again and its resubmission: one duplicate, one superseded, one accepted."""
    wave = Wave(tmp_path)
    first, second = base_ministry(q08_age="20代"), base_ministry(q08_age="40代")
    t1, t2 = datetime(2023, 11, 20), datetime(2023, 11, 30)
    wave.xlsx([first], "a_partial.xlsx", submitted=[t1])
    wave.xlsx([first, second], "b_final.xlsx", submitted=[t1, t2])
    result = wave.validate()
    assert result.rejections[["source_file", "source_row", "rule"]].values.tolist() == [
        ["ministry/2023/a_partial.xlsx", 2, "duplicate"],
        ["ministry/2023/b_final.xlsx", 2, "superseded"],
    ]
    assert result.accepted["q08_age"].tolist() == ["40代"]


def test_respondent_ids_are_stable_and_free_of_personal_data(tmp_path):
    a = Wave(tmp_path / "a")
    a.xlsx([base_ministry(), base_ministry(org_name="B省")])
    b = Wave(tmp_path / "b")
    b.xlsx(
        [
            base_ministry(メール="someone.else@example.go.jp", 名前="別人 花子"),
            base_ministry(org_name="B省", メール="x@example.com", 名前="x"),
        ]
    )
    ids_a = a.validate().accepted["respondent_id"].tolist()
    assert ids_a == a.validate().accepted["respondent_id"].tolist()
    assert ids_a == b.validate().accepted["respondent_id"].tolist()
    for rid in ids_a:
        assert "@" not in rid and "山田" not in rid
