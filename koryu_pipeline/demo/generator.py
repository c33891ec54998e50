"""Deterministic, calibrated demo exports of the two 2023 surveys.

`write_demo_exports(raw_dir)` writes, under `raw_dir`, exports shaped exactly like the ones the
pipeline receives (see the header comments of the form files), with answers dealt so that once
the pipeline has rejected the documented defect rows, 49 ministry and 552 hires responses are
accepted and every headline of the seed's results summary holds (questionnaire.md). Counts are
dealt exactly (no sampling noise) from the tables `MINISTRY_COUNTS` / `HIRES_COUNTS`; only who
gets which answer is random, from a fixed seed. No wall-clock is read: running it twice gives
byte-identical files.

Files (paths relative to `raw_dir`):

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

import csv
import io
import random
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from openpyxl import Workbook
from openpyxl.writer.excel import ExcelWriter

from koryu_pipeline.codebook import Entry, Form, get_codebook, normalise_text

SEED = 20231108
WAVE = "2023"

MINISTRY_PARTIAL = "ministry/2023/ministry_2023_export_20231130_partial.xlsx"
MINISTRY_FINAL = "ministry/2023/ministry_2023_export_20231222.xlsx"
HIRES_MAIN = "hires/2023/hires_2023_responses_20231222.csv"
HIRES_CP932 = "hires/2023/hires_2023_agency_batch_cp932.csv"

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

EXPECTED: dict = {
    "accepted": EXPECTED_ACCEPTED,
    "files": EXPECTED_FILES,
    "defects": EXPECTED_DEFECTS,
    "variants": EXPECTED_VARIANTS,
    "duplicate_keep": "most complete export",
}

# ---------------------------------------------------------------------------- calibration

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

# ---------------------------------------------------------------------------- dealing answers

Value = str | tuple[str, ...] | None


@dataclass(eq=False)  # identity: two respondents may give the same answers
class Response:
    answers: dict[str, Value]  # field column (entry id or likert item id) -> canonical value
    submitted: datetime | None = None
    started: datetime | None = None
    email: str | None = None
    name: str | None = None
    raw: dict[str, str] = field(default_factory=dict)  # column -> cell text overriding render
    terminated: bool = True  # MS Forms ends every multi cell with ';'


def _routed(entry: Entry, answers: dict[str, Value]) -> bool:
    return all(
        isinstance(answers.get(dep), str)
        and normalise_text(str(answers[dep])) in {normalise_text(v) for v in values}
        for dep, values in entry.asked_if
    )


def _deal_single(
    rng: random.Random, labels: Sequence[str], counts: Sequence[int], n: int
) -> list[str | None]:
    """Exactly counts[i] copies of labels[i], the rest blank, in random order."""
    if len(counts) != len(labels) or sum(counts) > n:
        raise ValueError(f"counts {counts} do not fit {len(labels)} options / base {n}")
    pool: list[str | None] = [lab for lab, c in zip(labels, counts, strict=True) for _ in range(c)]
    pool += [None] * (n - len(pool))
    rng.shuffle(pool)
    return pool


def _deal_multi(
    rng: random.Random, entry: Entry, counts: Sequence[int], n: int
) -> list[tuple[str, ...]]:
    """n choice sets with exactly counts[i] respondents choosing option i: an exclusive option is
    chosen alone, everyone chooses at least one, nobody more than max_choices."""
    if len(counts) != len(entry.options):
        raise ValueError(f"{entry.id}: {len(counts)} counts for {len(entry.options)} options")
    excl = [o for o in entry.options if o.key in entry.exclusive_keys]
    other = [o for o in entry.options if o.key not in entry.exclusive_keys]
    count = {o.label: c for o, c in zip(entry.options, counts, strict=True)}
    alone = [(o.label,) for o in excl for _ in range(count[o.label])]
    rest = n - len(alone)
    total = sum(count[o.label] for o in other)
    cap = min(entry.max_choices or len(other), len(other))
    if rest < 0 or not rest <= total <= rest * cap:
        raise ValueError(f"{entry.id}: counts {counts} cannot be dealt to {n} respondents")
    for _attempt in range(200):
        # how many options each respondent picks: at least one, at most cap
        load = [1] * rest
        for _ in range(total - rest):
            i = rng.choice([j for j in range(rest) if load[j] < cap])
            load[i] += 1
        chosen: list[set[str]] = [set() for _ in range(rest)]
        ok = True
        # Ryser's construction: biggest options first, to those with most picks left
        for o in sorted(other, key=lambda o: -count[o.label]):
            order = sorted(range(rest), key=lambda j: (-load[j], rng.random()))[: count[o.label]]
            if any(load[j] == 0 for j in order):
                ok = False
                break
            for j in order:
                load[j] -= 1
                chosen[j].add(o.label)
        if ok:
            sets = [tuple(o.label for o in entry.options if o.label in s) for s in chosen]
            out = alone + sets
            rng.shuffle(out)
            return out
    raise ValueError(f"{entry.id}: could not deal counts {counts}")


def _deal_questions(
    rng: random.Random,
    form: Form,
    responses: list[Response],
    counts: dict[str, tuple[int, ...]],
    skip: frozenset[str] = frozenset(),
    before: Callable[[str], None] | None = None,
) -> None:
    """Fill every entry not in `skip`, in form order, for the respondents it is routed to."""
    for entry in form.entries:
        if entry.id in skip:
            continue
        if before:
            before(entry.id)
        routed = [r for r in responses if _routed(entry, r.answers)]
        blank = [r for r in responses if r not in routed]  # identity: eq=False
        if entry.type == "likert":
            assert entry.items
            for item in entry.items:
                labels = [o.label for o in entry.options]
                for r, v in zip(
                    routed,
                    _deal_single(rng, labels, counts[item.item_id], len(routed)),
                    strict=True,
                ):
                    r.answers[item.item_id] = v
                for r in blank:
                    r.answers[item.item_id] = None
            continue
        labels = [o.label for o in entry.options]
        if entry.type == "single":
            values: list = _deal_single(rng, labels, counts[entry.id], len(routed))
        else:
            values = _deal_multi(rng, entry, counts[entry.id], len(routed))
        for r, v in zip(routed, values, strict=True):
            r.answers[entry.id] = v
        for r in blank:
            r.answers[entry.id] = None


def _random_answers(rng: random.Random, form: Form, answers: dict[str, Value]) -> None:
    """Plausible, valid answers for a defect row (not part of the calibration)."""
    for entry in form.questions:
        routed = _routed(entry, answers)
        labels = [o.label for o in entry.options]
        if entry.type == "likert":
            for item in entry.items:
                answers[item.item_id] = rng.choice(labels[2:5]) if routed else None
        elif not routed:
            answers[entry.id] = None
        elif entry.type == "single":
            answers[entry.id] = rng.choice(labels)
        else:
            excl = [o.label for o in entry.options if o.key in entry.exclusive_keys]
            other = [lab for lab in labels if lab not in excl]
            if excl and rng.random() < 0.2:
                answers[entry.id] = (rng.choice(excl),)
            else:
                k = rng.randint(1, min(3, entry.max_choices or 3))
                picked = set(rng.sample(other, k))
                answers[entry.id] = tuple(lab for lab in labels if lab in picked)


# ---------------------------------------------------------------------------- times


def _working_days(first: date, last: date) -> list[date]:
    days = [first + timedelta(d) for d in range((last - first).days + 1)]
    return [d for d in days if d.weekday() < 5 and d not in HOLIDAYS]


def _times(
    rng: random.Random,
    days: Sequence[date],
    weights: Sequence[float],
    n: int,
    start: time,
    end: time,
) -> list[datetime]:
    """n distinct, sorted times (whole seconds) on the given days between start and end."""
    out: set[datetime] = set()
    lo = start.hour * 3600 + start.minute * 60
    hi = end.hour * 3600 + end.minute * 60
    while len(out) < n:
        day = rng.choices(days, weights)[0]
        t = datetime.combine(day, time()) + timedelta(seconds=rng.randrange(lo, hi))
        if t >= LINK_SENT:  # keeps every accepted time on the opening day in UTC as well
            out.add(t)
    return sorted(out)


# ---------------------------------------------------------------------------- ministry


def _ministry_responses(rng: random.Random, form: Form) -> list[Response]:
    """The 51 rows of the final export, in submission (ID) order."""
    keys = [
        (name, otype, line or None)
        for name, otype, lines in ORGANISATIONS
        for line in (lines or ("",))
    ]
    assert len(keys) == EXPECTED_ACCEPTED["ministry"], len(keys)
    rng.shuffle(keys)
    # put the organisation that answers twice at the replacement's place
    defect_ids = (SUPERSEDED_ID, UNKNOWN_OPTION_ID)
    accepted_ids = [i for i in range(1, len(keys) + len(defect_ids) + 1) if i not in defect_ids]
    target = next(k for k in keys if (k[0], k[2]) == SUPERSEDED_ORG)
    j, t = accepted_ids.index(REPLACEMENT_ID), keys.index(target)
    keys[j], keys[t] = keys[t], keys[j]

    # screening: 12 do both, 4 only dispatch, 22 only hire, 11 neither -> 16 and 34
    screening = [("はい", "はい")] * 12 + [("はい", "いいえ")] * 4
    screening += [("いいえ", "はい")] * 22 + [("いいえ", "いいえ")] * 11
    rng.shuffle(screening)
    attr_ids = ("org_name", "org_type", "personnel_line", "s_dispatch", "s_hire")
    accepted = [
        Response(dict(zip(attr_ids, (name, otype, line, d, h), strict=True)))
        for (name, otype, line), (d, h) in zip(keys, screening, strict=True)
    ]

    by_id = dict(zip(accepted_ids, accepted, strict=True))
    pinned_q07 = form.entry("q07").options[2].label  # the one label with parentheses
    pin_id = next(v.row for v in EXPECTED_VARIANTS if v.kind == "halfwidth_parentheses")

    def pin(entry_id: str) -> None:
        # q07 is dealt but q07_reasons (routed on it) not yet: swap q07 answers so the
        # variant row holds the label with parentheses; counts are unchanged
        if entry_id != "q07_reasons":
            return
        me = by_id[pin_id]
        if me.answers["q07"] != pinned_q07:
            other = next(r for r in accepted if r.answers["q07"] == pinned_q07)
            me.answers["q07"], other.answers["q07"] = other.answers["q07"], me.answers["q07"]

    attrs = frozenset(e.id for e in form.attributes)
    _deal_questions(rng, form, accepted, MINISTRY_COUNTS, skip=attrs, before=pin)

    # the defect rows: valid responses except for what makes them defects
    replacement = by_id[REPLACEMENT_ID]
    superseded = Response({k: replacement.answers[k] for k in attrs})
    while True:
        _random_answers(rng, form, superseded.answers)
        if superseded.answers != replacement.answers:
            break
    name, otype = UNKNOWN_OPTION_ORG
    typo = Response(dict(zip(attr_ids, (name, otype, None, "はい", "いいえ"), strict=True)))
    _random_answers(rng, form, typo.answers)
    typo.raw["q06"] = "役職段階;年令;"

    rows = [by_id.get(i) for i in range(1, len(accepted_ids) + len(defect_ids) + 1)]
    rows[SUPERSEDED_ID - 1], rows[UNKNOWN_OPTION_ID - 1] = superseded, typo
    out = [r for r in rows if r is not None]

    # submission times: the first 20 before the partial export of 2023-11-30 morning
    early = _working_days(date(2023, 11, 8), date(2023, 11, 29))
    late = _working_days(date(2023, 12, 1), date(2023, 12, 21))
    times = _times(rng, early, [1.0] * len(early), N_PARTIAL, time(9, 30), time(19))
    times += _times(rng, late, [1.0] * len(late), len(out) - N_PARTIAL, time(9, 30), time(19))
    people = rng.sample([(f, g) for f in FAMILY for g in GIVEN], len(out))
    for r, t, (fam, giv) in zip(out, times, people, strict=True):
        r.submitted = t
        # 6-75 minutes to fill in, but not opened before the links went out
        r.started = max(t - timedelta(seconds=rng.randint(6 * 60, 75 * 60)), LINK_SENT)
        r.email = f"{giv[1]}.{fam[1]}@example.go.jp"
        r.name = f"{fam[0]} {giv[0]}"
    # the same person answers again for the superseded organisation
    superseded.email, superseded.name = replacement.email, replacement.name

    _ministry_variants(out)
    return out


def _ministry_variants(rows: list[Response]) -> None:
    """Spell some cells as people and tools do; NFKC + whitespace folding undoes each."""
    for v in EXPECTED_VARIANTS:
        r = rows[v.row - 1]
        if v.kind == "no_trailing_separator":
            r.terminated = False
            continue
        value = r.answers[v.column]
        if v.kind == "fullwidth_digits":
            assert isinstance(value, str)
            r.raw[v.column] = value.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
        elif v.kind == "trailing_space":
            assert isinstance(value, str)
            r.raw[v.column] = value + " "
        elif v.kind == "halfwidth_parentheses":
            assert isinstance(value, str) and "（" in value
            r.raw[v.column] = value.replace("（", "(").replace("）", ")")
        elif v.kind == "space_before_separator":
            assert isinstance(value, tuple)
            r.raw[v.column] = "".join(f"{lab} ;" for lab in value)
        else:  # pragma: no cover - the table above is the only source
            raise ValueError(v.kind)


def _ms_cell(value: Value, terminated: bool) -> str | None:
    if value is None:
        return None
    if isinstance(value, tuple):
        return ";".join(value) + (";" if terminated else "")
    return value


def _write_msforms_xlsx(
    form: Form, rows: Sequence[Response], ids: Sequence[int], exported: datetime
) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Sheet1"
    ws.append(["ID", "開始時刻", "完了時刻", "メール", "名前", *(f.header for f in form.fields)])
    for rid, r in zip(ids, rows, strict=True):
        cells = [
            r.raw[f.column] if f.column in r.raw else _ms_cell(r.answers[f.column], r.terminated)
            for f in form.fields
        ]
        ws.append([rid, r.started, r.submitted, r.email, r.name, *cells])
    for col in ("B", "C"):
        for cell in ws[col][1:]:
            cell.number_format = "yyyy/m/d h:mm:ss"
    # fixed document properties: openpyxl would stamp the wall-clock time
    wb.properties.creator = "Microsoft Forms"
    wb.properties.created = exported
    wb.properties.modified = exported
    buf = io.BytesIO()
    ExcelWriter(wb, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED)).save()
    return _normalise_zip(buf.getvalue())


def _normalise_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed entry timestamps and attributes, so equal content gives equal
    bytes (zipfile stamps entries with the current time or a temp file's mtime)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            zi = zipfile.ZipInfo(info.filename, date_time=(2023, 12, 22, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            zi.create_system = 3  # zipfile would record 0 on Windows
            dst.writestr(zi, src.read(info.filename))
    return out.getvalue()


# ---------------------------------------------------------------------------- hires


def _hires_responses(rng: random.Random, form: Form) -> tuple[list[Response], list[Response]]:
    """(main file rows, CP932 batch rows), each in timestamp order."""
    n = EXPECTED_ACCEPTED["hires"]
    accepted = [Response({}) for _ in range(n)]
    for eid in ("host_org_type", "age_band", "industry"):
        labels = [o.label for o in form.entry(eid).options]
        for r, v in zip(accepted, _deal_single(rng, labels, HIRES_COUNTS[eid], n), strict=True):
            r.answers[eid] = v
    sat = form.entry("satisfaction")
    for r in accepted:
        for item in sat.items:
            w = SATISFACTION_WEIGHTS[item.item_id]
            r.answers[item.item_id] = rng.choices([o.label for o in sat.options], w)[0]
    wishes = form.entry("support_wishes")
    dealt = _deal_multi(rng, wishes, HIRES_COUNTS["support_wishes"], n)
    for r, v in zip(accepted, dealt, strict=True):
        r.answers["support_wishes"] = v

    agency = form.entry("host_org_type").options[1].label
    main = [r for r in accepted if r.answers["host_org_type"] != agency]
    batch = [r for r in accepted if r.answers["host_org_type"] == agency]

    # defect (c): a valid response except for a fourth wish
    too_many = Response(dict(main[0].answers))
    too_many.answers["support_wishes"] = tuple(o.label for o in wishes.options[:4])
    main.insert(HIRES_TOO_MANY_ROW - 1, too_many)
    # defect (f): a valid response submitted four days after the close
    late = Response(dict(main[-1].answers))
    late.answers["support_wishes"] = tuple(o.label for o in wishes.options[:3:2])
    late.answers["industry"] = form.entry("industry").options[0].label

    # most answers come in the first week and just before the deadline
    days = [date(2023, 11, 8) + timedelta(d) for d in range(44)]
    weights = [3.0 if d < 7 else 2.0 if d >= 39 else 1.0 for d in range(44)]
    times = _times(rng, days, weights, len(main) + len(batch), time(7), time(23, 30))
    batch_idx = set(rng.sample(range(len(times)), len(batch)))
    main_times = [t for i, t in enumerate(times) if i not in batch_idx]
    batch_times = [t for i, t in enumerate(times) if i in batch_idx]
    for r, t in zip(main, main_times, strict=True):
        r.submitted = t
    for r, t in zip(batch, batch_times, strict=True):
        r.submitted = t
    late.submitted = datetime(2023, 12, 25, 10, 12, 45)
    main.append(late)
    assert len(main) == HIRES_LATE_ROW
    return main, batch


def _sheet_time(t: datetime) -> str:
    return f"{t:%Y/%m/%d} {t.hour}:{t:%M:%S}"


def _download_time(t: datetime) -> str:
    half = "午前" if t.hour < 12 else "午後"
    return f"{t:%Y/%m/%d} {(t.hour + 11) % 12 + 1}:{t:%M:%S} {half} GMT+9"


def _write_googleforms_csv(
    form: Form, rows: Sequence[Response], sep: str, stamp: Callable[[datetime], str]
) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(
        ["タイムスタンプ"]
        + [f"{f.entry.header} [{f.item.label}]" if f.item else f.header for f in form.fields]
    )
    for r in rows:
        assert r.submitted is not None
        cells = []
        for f in form.fields:
            v = r.answers.get(f.column)
            cells.append("" if v is None else sep.join(v) if isinstance(v, tuple) else v)
        w.writerow([stamp(r.submitted), *cells])
    return buf.getvalue()


# ---------------------------------------------------------------------------- entry point


def _write_if_changed(path: Path, data: bytes) -> None:
    """Write via a temporary file and rename; leave identical files untouched (and unstamped)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_bytes() == data:
        return
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def build_demo_exports() -> dict[str, bytes]:
    """The demo files' bytes by path relative to the raw folder."""
    cb = get_codebook()
    rng = random.Random(SEED)
    ministry, hires = cb.form("ministry", WAVE), cb.form("hires", WAVE)

    rows = _ministry_responses(rng, ministry)
    ids = list(range(1, len(rows) + 1))
    files = {
        MINISTRY_PARTIAL: _write_msforms_xlsx(
            ministry, rows[:N_PARTIAL], ids[:N_PARTIAL], datetime(2023, 11, 30, 9, 30)
        ),
        MINISTRY_FINAL: _write_msforms_xlsx(ministry, rows, ids, datetime(2023, 12, 22, 10, 0)),
    }
    main, batch = _hires_responses(rng, hires)
    files[HIRES_MAIN] = _write_googleforms_csv(hires, main, ", ", _sheet_time).encode("utf-8-sig")
    files[HIRES_CP932] = _write_googleforms_csv(hires, batch, ";", _download_time).encode("cp932")
    assert set(files) == set(EXPECTED_FILES)  # every file written is described
    return files


def write_demo_exports(raw_dir: Path) -> list[Path]:
    """Write the demo exports under raw_dir (see the module docstring); return their paths."""
    raw_dir = Path(raw_dir)
    out = []
    for rel, data in build_demo_exports().items():
        path = raw_dir / rel
        _write_if_changed(path, data)
        out.append(path)
    return out
