"""What the demo exports are made of and what they must show: the files, their documented
defects and spelling variants, and the calibrated counts the answers are dealt from.

Files (paths relative to the raw folder):

- `ministry/2023/ministry_2023_export_20231130_partial.xlsx` -- an early Microsoft Forms export
  taken on 2023-11-30: the first 20 submissions (IDs 1-20), identical (ID, times, answers) to
  rows 1-20 of the final export.
- `ministry/2023/ministry_2023_export_20231222.xlsx` -- the final export: 51 rows, IDs 1-51 in
  submission order.
- `hires/2023/hires_2023_responses_20231222.csv` -- Google Forms via the linked Sheet: UTF-8 with
  BOM, checkbox cells joined with ", ", timestamps "2023/11/20 15:04:05". 482 rows.
- `hires/2023/hires_2023_agency_batch_cp932.csv` -- a distinct batch (the 72 hires placed in
  行政執行法人, collected on the agencies' copy of the form), downloaded directly (checkbox cells
  joined with ";", timestamps "2023/11/20 3:04:05 午後 GMT+9") and re-saved in Excel: CP932, no
  BOM. All 72 rows are accepted.

Documented defects (data rows are 1-based, header excluded, so the readers' source_row is one
more; `EXPECTED_DEFECTS` lists them all):

(a) superseded -- final ministry export, ID 27: an earlier submission by 国土基盤省 / 技術系,
    whose later submission (ID 44) is accepted; different answers. Rule `superseded`.
(b) unknown_option -- final ministry export, ID 33: 地域交通政策庁 (in no accepted row) answered
    q06 "役職段階;年令;" -- 年令 is not an option (年齢 is). Rule `unknown_option`.
(c) too_many_choices -- hires main file, data row 240: four choices in support_wishes.
(d) duplicate -- the partial ministry export repeats IDs 1-20 of the final export. A response
    counts once, kept from the most complete export (the final one, as validation/dedupe.py
    does), so all 20 rows of the partial export are the `duplicate` rejections.
(e) encoding -- the hires agency batch is CP932 without a BOM (must be read, not rejected).
(f) outside_fielding_window -- hires main file, data row 482: submitted 2023/12/25, after the
    2023-12-21 close.

Cells that must still be accepted (readers NFKC-normalise and fold whitespace), all in the final
ministry export (`EXPECTED_VARIANTS`): ID 23 q08_age in full-width digits ("３０代"); ID 29 s_hire
with a trailing space; ID 36 q07 with half-width parentheses; ID 40 q17_traits with a space
before each ';'; IDs 22, 31, 38 and 47 write their multi cells without the trailing ';'.
q01 item 6 is left blank by one dispatching organisation (its base is 15, not 16).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

SEED = 20231108
WAVE = "2023"

MINISTRY_PARTIAL = "ministry/2023/ministry_2023_export_20231130_partial.xlsx"
MINISTRY_FINAL = "ministry/2023/ministry_2023_export_20231222.xlsx"
HIRES_MAIN = "hires/2023/hires_2023_responses_20231222.csv"
HIRES_CP932 = "hires/2023/hires_2023_agency_batch_cp932.csv"

# when each Microsoft Forms export was taken: its workbook's creation time
MINISTRY_EXPORTED = {
    MINISTRY_PARTIAL: datetime(2023, 11, 30, 9, 30),
    MINISTRY_FINAL: datetime(2023, 12, 22, 10, 0),
}

# ---------------------------------------------------------------------------- expectations

EXPECTED_ACCEPTED: dict[str, int] = {"ministry": 49, "hires": 552}

# Per file: data rows, rows the pipeline should accept, rejections by rule. A response in two
# files is kept from the most complete export (the final one); the partial export's copies
# are the duplicates.
EXPECTED_FILES: dict[str, dict] = {
    MINISTRY_PARTIAL: {"rows": 20, "accepted": 0, "rejected": {"duplicate": 20}},
    MINISTRY_FINAL: {
        "rows": 51,
        "accepted": 49,
        "rejected": {"superseded": 1, "unknown_option": 1},
    },
    HIRES_MAIN: {
        "rows": 482,
        "accepted": 480,
        "rejected": {"too_many_choices": 1, "outside_fielding_window": 1},
    },
    HIRES_CP932: {"rows": 72, "accepted": 72, "rejected": {}},
}


@dataclass(frozen=True)
class Defect:
    file: str
    row: int  # 1-based data row, header excluded; in the ministry exports also the ID
    rule: str
    column: str | None  # codebook entry id, or None for a whole-row rule
    note: str

    @property
    def source_row(self) -> int:
        """The row as a spreadsheet numbers it (header = row 1), as the readers report it."""
        return self.row + 1


SUPERSEDED_ID, REPLACEMENT_ID, UNKNOWN_OPTION_ID = 27, 44, 33
N_PARTIAL = 20
HIRES_TOO_MANY_ROW, HIRES_LATE_ROW = 240, 482

EXPECTED_DEFECTS: tuple[Defect, ...] = (
    *(
        Defect(MINISTRY_PARTIAL, i, "duplicate", None, f"same response as {MINISTRY_FINAL} ID {i}")
        for i in range(1, N_PARTIAL + 1)
    ),
    Defect(
        MINISTRY_FINAL,
        SUPERSEDED_ID,
        "superseded",
        None,
        f"国土基盤省 / 技術系 answered again later (ID {REPLACEMENT_ID})",
    ),
    Defect(MINISTRY_FINAL, UNKNOWN_OPTION_ID, "unknown_option", "q06", "役職段階;年令;"),
    Defect(HIRES_MAIN, HIRES_TOO_MANY_ROW, "too_many_choices", "support_wishes", "4 of max 3"),
    Defect(HIRES_MAIN, HIRES_LATE_ROW, "outside_fielding_window", None, "2023/12/25 10:12:45"),
)


@dataclass(frozen=True)
class Variant:
    file: str
    row: int  # 1-based data row; in the ministry exports also the ID
    column: str  # codebook entry id
    kind: str


EXPECTED_VARIANTS: tuple[Variant, ...] = (
    Variant(MINISTRY_FINAL, 23, "q08_age", "fullwidth_digits"),
    Variant(MINISTRY_FINAL, 29, "s_hire", "trailing_space"),
    Variant(MINISTRY_FINAL, 36, "q07", "halfwidth_parentheses"),
    Variant(MINISTRY_FINAL, 40, "q17_traits", "space_before_separator"),
    *(Variant(MINISTRY_FINAL, i, "*multi*", "no_trailing_separator") for i in (22, 31, 38, 47)),
)


# ---------------------------------------------------------------------------- counts

# Counts per option code (1-based, the codebook's order) among the accepted responses routed to
# the entry; a likert item's counts follow its scale. A likert item whose counts sum below its
# base leaves the rest blank. Each row names the seed headline it makes true.
MINISTRY_COUNTS: dict[str, tuple[int, ...]] = {
    # slide 1 (n=16): items 1-4 over 90% positive (15/16), items 5-6 clearly lower
    "q01_1": (0, 0, 1, 5, 10),
    "q01_2": (0, 0, 1, 4, 11),
    "q01_3": (0, 1, 0, 6, 9),
    "q01_4": (0, 0, 1, 7, 8),
    "q01_5": (0, 1, 3, 8, 4),
    "q01_6": (1, 1, 3, 6, 4),  # 15 answers: one blank
    # slide 2: items 1-2 over 90%; items 4-5 over 80% (14/16); item 3 75%
    "q02_1": (0, 0, 1, 6, 9),
    "q02_2": (0, 0, 1, 7, 8),
    "q02_3": (0, 1, 3, 7, 5),
    "q02_4": (0, 0, 2, 8, 6),
    "q02_5": (0, 1, 1, 9, 5),
    # slide 3: positive 14 > 13 > 11 > 9, with 分からない answers
    "q03_1": (0, 0, 1, 6, 8, 1),
    "q03_2": (0, 0, 1, 5, 8, 2),
    "q03_3": (0, 1, 2, 6, 5, 2),
    "q03_4": (0, 2, 3, 5, 4, 2),
    "q04": (11, 2, 1, 2, 2),  # no such case 11/16 = 69% (約７割)
    "q05": (9, 6, 7, 1),  # 56% (５割超); 38% and 44% (約４割 each)
    "q06": (14, 9, 8, 5, 4, 3, 1),  # 役職段階 88% (８割超); then 年齢, related experience
    "q07": (15, 27, 7),  # proactive 31% (約３割); 34 go on to the reasons
    "q07_reasons": (20, 9, 6, 3, 5, 4),  # staff shortage 20/34 = 59% (約６割), most chosen
    "q08_age": (8, 24, 14, 3),  # 30代 most chosen
    "q08_work": (29, 5, 7, 6, 2),  # related field 29/49 = 59% (約６割)
    # slide 9 (n=34): items 1-3 over 80%; item 4 lower
    "q09_1": (0, 1, 4, 14, 15),
    "q09_2": (0, 2, 4, 15, 13),
    "q09_3": (0, 1, 3, 12, 18),
    "q09_4": (1, 3, 6, 14, 10),
    # slide 10: all four over 80%
    "q10_1": (0, 0, 4, 16, 14),
    "q10_2": (0, 1, 4, 15, 14),
    "q10_3": (0, 1, 5, 16, 12),
    "q10_4": (0, 1, 5, 17, 11),
    "q11": (21, 3, 2, 3, 2, 6),  # no such case 21/34 = 62% (６割超)
    "q12": (17, 10, 8, 6, 4, 3, 9, 7, 5, 2),  # 処遇の違い 17/34 = 50% (約５割), most chosen
    "q13": (22, 20, 18, 14, 12, 8, 5, 4, 9, 11, 7),  # first three >= 50%; 懇親会 15%, 人脈 12%
    "q15": (17, 14, 13, 5, 4, 3, 3),  # 企業からの申出 50%; then 41% and 38% (約４割)
    "q16": (24, 20, 5),  # proactive 24/49 = 49% (約５割); 25 go on to the reasons
    "q16_reasons": (10, 6, 7, 3, 5, 4),  # no suitable post 10/25 = 40% (約４割), most chosen
    "q17_age": (6, 22, 17, 4),  # 30代 most chosen
    "q17_traits": (29, 25, 18, 22, 20, 12, 8, 1),  # adaptability 29/49 = 59% (約６割), most
}

HIRES_COUNTS: dict[str, tuple[int, ...]] = {
    "host_org_type": (480, 72),  # the 72 in 行政執行法人 are the CP932 batch
    "age_band": (60, 220, 200, 72),
    "industry": (150, 120, 130, 50, 45, 4, 3, 50),  # two industries under 5: suppression
    # slide 14: culture/rules 330/552 = 60% (約６割), most chosen; 人脈 166 (30.1%) and
    # 懇親会 160 (29.0%) are 4th and 5th; 12 answer 特になし alone
    "support_wishes": (330, 185, 45, 172, 70, 105, 160, 166, 80, 130, 35, 12),
}

# Satisfaction is not a headline: drawn with these weights per item, answered by everyone.
SATISFACTION_WEIGHTS: dict[str, tuple[int, ...]] = {
    "satisfaction_1": (3, 8, 15, 40, 34),
    "satisfaction_2": (5, 12, 20, 38, 25),
    "satisfaction_3": (2, 6, 14, 42, 36),
}

# ---------------------------------------------------------------------------- organisations

# (org_name, org_type, personnel lines); fictional. Three ministries answer per 人事系統.
ORGANISATIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("総合政策省", "府省", ("事務系", "技術系")),
    ("国土基盤省", "府省", ("事務系", "技術系", "研究職")),
    ("産業振興省", "府省", ("事務系", "技術系")),
    *(
        (name, "府省", ())
        for name in [
            "社会保障省",
            "地域創生省",
            "教育文化省",
            "科学技術省",
            "情報通信政策省",
            "通商外交省",
            "財政金融省",
            "労働雇用省",
            "農林水産資源省",
            "海洋資源庁",
            "気象防災庁",
            "観光交流庁",
            "中小企業振興庁",
            "エネルギー政策庁",
            "環境保全庁",
            "消費生活庁",
            "こども未来庁",
            "デジタル行政庁",
            "復興推進庁",
            "特許審査庁",
            "森林管理庁",
            "港湾交通庁",
            "航空安全庁",
            "原子力安全規制庁",
            "公正競争委員会",
            "個人情報委員会",
            "統計政策庁",
            "出入国管理庁",
            "文化芸術庁",
            "スポーツ振興庁",
            "住宅都市庁",
            "食品安全庁",
            "医薬品審査庁",
            "国際協力庁",
        ]
    ),
    *(
        (name, "行政執行法人", ())
        for name in [
            "国立記録保存機構",
            "国家統計センター",
            "貨幣製造局",
            "公文書印刷局",
            "農林水産検査センター",
            "製品安全技術機構",
            "駐留労務管理機構",
            "国立検定センター",
        ]
    ),
)
SUPERSEDED_ORG = ("国土基盤省", "技術系")
UNKNOWN_OPTION_ORG = ("地域交通政策庁", "府省")

# Fake personal data (MS Forms fills メール / 名前 from the signed-in account): realistic on
# purpose, so a test can grep that none of it reaches the warehouse.
FAMILY = (
    ("佐藤", "sato"), ("鈴木", "suzuki"), ("高橋", "takahashi"), ("田中", "tanaka"),
    ("伊藤", "ito"), ("渡辺", "watanabe"), ("山本", "yamamoto"), ("中村", "nakamura"),
    ("小林", "kobayashi"), ("加藤", "kato"), ("吉田", "yoshida"), ("山田", "yamada"),
    ("佐々木", "sasaki"), ("山口", "yamaguchi"), ("松本", "matsumoto"), ("井上", "inoue"),
)  # fmt: skip
GIVEN = (
    ("太郎", "taro"), ("花子", "hanako"), ("健一", "kenichi"), ("美咲", "misaki"),
    ("大輔", "daisuke"), ("陽子", "yoko"), ("拓也", "takuya"), ("直美", "naomi"),
    ("誠", "makoto"), ("恵", "megumi"), ("翔太", "shota"), ("由美", "yumi"),
)  # fmt: skip

LINK_SENT = datetime(2023, 11, 8, 10, 0)  # the form links went out on the opening morning
HOLIDAYS = frozenset({date(2023, 11, 23)})  # 勤労感謝の日: HR offices do not submit
