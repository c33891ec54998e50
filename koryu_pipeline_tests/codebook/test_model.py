"""The codebook: both deployed forms as data, and the checks that refuse a broken one."""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

import pytest

from koryu_pipeline.codebook import (
    CodebookError,
    get_codebook,
    load_codebook,
    normalise_text,
    wave_number,
)
from koryu_pipeline.codebook.model import FORMS_DIR


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def cb():
    return load_codebook()


def test_both_forms_load(cb):
    assert cb.instruments == ("hires", "ministry")
    assert cb.waves("ministry") == ("2023",)
    assert cb.waves("hires") == ("2023",)
    m = cb.form("ministry", "2023")
    h = cb.form("hires", "2023")
    assert (m.export, h.export) == ("msforms_xlsx", "googleforms_csv")
    assert (m.opens, m.closes, m.timezone) == (date(2023, 11, 8), date(2023, 12, 21), "Asia/Tokyo")
    assert cb.form("ministry", 2023) is m  # a wave given as a number is the same wave
    assert get_codebook().has_form("hires", "2023")


def test_unknown_form_names_the_file_to_add(cb):
    with pytest.raises(CodebookError, match=r"ministry_2031\.yaml"):
        cb.form("ministry", "2031")
    assert not cb.has_form("ministry", "2031")


def test_option_codes_are_one_based_positions_with_verbatim_labels(cb):
    q04 = cb.form("ministry", "2023").entry("q04")
    assert [o.code for o in q04.options] == [1, 2, 3, 4, 5]
    assert q04.options[0].label == "十分な成果を得られなかったケースはない"
    assert q04.options[-1].label == "分からない、効果未検証等"
    assert q04.options[1].reconstructed and not q04.options[0].reconstructed
    # a scale gives its options to the entry in scale order
    s_dispatch = cb.form("ministry", "2023").entry("s_dispatch")
    assert [(o.code, o.label) for o in s_dispatch.options] == [(1, "はい"), (2, "いいえ")]
    # option keys are normalised (NFKC): full-width brackets match half-width ones
    wishes = cb.form("hires", "2023").entry("support_wishes")
    assert "公務員倫理等服務上の教育の機会付与(研修など)" in wishes.option_by_key


def test_likert_items_have_ids_sorts_and_scale_options(cb):
    form = cb.form("ministry", "2023")
    q01 = form.entry("q01")
    assert q01.type == "likert"
    assert [i.item_id for i in q01.items] == [f"q01_{n}" for n in range(1, 7)]
    assert [i.sort for i in q01.items] == list(range(1, 7))
    assert q01.items[0].label == "民間との相互理解の促進を図るため"
    assert q01.items[4].reconstructed and not q01.items[0].reconstructed
    assert [o.label for o in q01.options][-1] == "よく当てはまる"
    assert [o.label for o in form.entry("q03").options][-1] == "分からない"
    # one export column per item, headed by the item text alone
    q01_fields = [f for f in form.fields if f.entry.id == "q01"]
    assert [f.column for f in q01_fields] == [i.item_id for i in q01.items]
    assert q01_fields[0].header == "民間との相互理解の促進を図るため"
    # the same item text heads a q01 and a q09 column
    by_header = [f.column for f in form.fields if f.header == "民間との相互理解の促進を図るため"]
    assert by_header == ["q01_1", "q09_3"]
    sat = cb.form("hires", "2023").entry("satisfaction")
    assert [i.item_id for i in sat.items] == ["satisfaction_1", "satisfaction_2", "satisfaction_3"]


def test_choice_limits_and_exclusive_options(cb):
    m = cb.form("ministry", "2023")
    assert m.entry("q17_traits").max_choices == 3
    assert m.entry("q07").max_choices == 1
    assert m.entry("q04").max_choices is None
    assert m.entry("q04").exclusive_keys == {
        "十分な成果を得られなかったケースはない",
        "分からない、効果未検証等",
    }
    wishes = cb.form("hires", "2023").entry("support_wishes")
    assert (wishes.type, wishes.max_choices, wishes.exclusive) == ("top3", 3, ("特になし",))


def test_routing(cb):
    m = cb.form("ministry", "2023")
    assert m.entry("q01").asked_if == (("s_dispatch", ("はい",)),)
    assert m.entry("q13").asked_if == (("s_hire", ("はい",)),)
    assert m.entry("q07_reasons").asked_if == (
        ("q07", ("どちらともいえない", "更なる交流派遣には消極的である（交流派遣を縮小したい）")),
    )
    assert m.entry("q07").asked_if == ()  # asked of every organisation
    assert m.entry("org_name").required and not m.entry("personnel_line").required


def test_attributes_and_questions(cb):
    m = cb.form("ministry", "2023")
    assert [e.id for e in m.attributes] == [
        "org_name",
        "org_type",
        "personnel_line",
        "s_dispatch",
        "s_hire",
    ]
    assert m.questions[0].id == "q01"
    assert [e.id for e in cb.form("hires", "2023").attributes] == [
        "host_org_type",
        "age_band",
        "industry",
    ]
    assert [e.id for e in cb.form("hires", "2023").questions] == ["satisfaction", "support_wishes"]


def test_crosswalk_mirrors_and_supersede_on(cb):
    h = cb.form("hires", "2023")
    m = cb.form("ministry", "2023")
    (cw,) = h.crosswalks
    assert (cw.id, cw.slide, cw.question, cw.to_instrument, cw.to_question) == (
        "support_gap",
        14,
        "support_wishes",
        "ministry",
        "q13",
    )
    assert len(cw.pairs) == 11
    assert cw.pairs[0] == (
        "府省特有の文化やルールに関する解説の充実",
        "府省特有の文化やルールに関する説明",
    )
    wishes, q13 = h.entry("support_wishes"), m.entry("q13")
    for a, b in cw.pairs:
        assert normalise_text(a) in wishes.option_by_key
        assert normalise_text(b) in q13.option_by_key
    # every wish but 特になし has its ministry counterpart
    assert {a for a, _ in cw.pairs} == {o.label for o in wishes.options} - {"特になし"}
    assert [mirror.questions for mirror in m.mirrors] == [
        ("q01", "q09"),
        ("q02", "q10"),
        ("q04", "q11"),
        ("q07", "q16"),
        ("q07_reasons", "q16_reasons"),
        ("q08_age", "q17_age"),
    ]
    # every pair names a unit on both sides, none twice
    for mirror in m.mirrors:
        a, b = (m.entry(q) for q in mirror.questions)
        codes = [(a.unit_code(x), b.unit_code(y)) for x, y in mirror.pairs]
        assert None not in {c for pair in codes for c in pair}
        for side in (0, 1):
            assert len({pair[side] for pair in codes}) == len(codes)
    intent = next(x for x in m.mirrors if x.questions == ("q07", "q16"))
    assert [
        (m.entry("q07").unit_code(x), m.entry("q16").unit_code(y)) for x, y in intent.pairs
    ] == [
        (1, 1),
        (2, 2),
        (3, 3),
    ]
    assert m.supersede_on == ("org_name", "personnel_line")
    assert h.supersede_on == ()  # anonymous form


def test_normalise_text():
    assert normalise_text("　３０代 ") == "30代"
    assert normalise_text("ｶﾀｶﾅ  と\tスペース") == "カタカナ と スペース"
    assert normalise_text("（研修など）") == "(研修など)"


BROKEN = """\
    instrument: broken
    wave: "2023"
    title: 壊れたフォーム
    export: msforms_xlsx
    fielded: {opens: "2023-11-08", closes: "2023-12-21", timezone: Asia/Tokyo}
    scales:
      yes_no: [はい, いいえ]
    entries:
      - id: screen
        header: 対象ですか
        type: single
        scale: yes_no
      - id: q1
        header: 質問1
        type: multi
        asked_if: {screen: たぶん}
        exclusive: [どれでもない]
        options: [A, B]
      - id: q1
        header: 質問1の再掲
        type: single
        options: [A, B]
"""


def test_broken_form_names_every_problem(tmp_path):
    _write(tmp_path, "broken_2023.yaml", BROKEN)
    with pytest.raises(CodebookError) as info:
        load_codebook(tmp_path)
    message = str(info.value)
    assert "broken_2023.yaml: q1 routed on unknown screen options ['たぶん']" in message
    assert "broken_2023.yaml: q1 exclusive option not among its options" in message
    assert "broken_2023.yaml: duplicate entry id q1" in message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("type: multi", "type: grid"), "unknown type 'grid'"),
        (("scale: yes_no", "scale: maybe"), "unknown scale 'maybe'"),
        (('closes: "2023-12-21"', 'closes: "2023-11-01"'), "opens after it closes"),
        (('closes: "2023-12-21"', 'closes: "someday"'), "fielded needs opens/closes"),
        (("asked_if: {screen: たぶん}", "asked_if: {later: A}"), "not an earlier entry"),
        (("export: msforms_xlsx", "export: paper"), "unknown export 'paper'"),
        (('wave: "2023"', 'wave: "2023b"'), "wave must be the survey year"),
    ],
)
def test_other_codebook_errors(tmp_path, change, expected):
    _write(tmp_path, "broken_2023.yaml", BROKEN.replace(*change))
    with pytest.raises(CodebookError, match=expected):
        load_codebook(tmp_path)


def test_routing_on_a_likert_grid_is_refused(tmp_path):
    """A grid has no one answer column to route on (its answers are per item)."""
    grid = "      - {id: grid, title: 格子, type: likert, scale: yes_no, items: [x, y]}\n"
    text = BROKEN.replace("    entries:\n", "    entries:\n" + grid).replace(
        "asked_if: {screen: たぶん}", "asked_if: {grid: はい}"
    )
    _write(tmp_path, "broken_2023.yaml", text)
    with pytest.raises(CodebookError, match="q1 is routed on likert grid"):
        load_codebook(tmp_path)


def test_routing_on_a_checkbox_question_is_allowed(tmp_path):
    from koryu_pipeline_tests.exports import toy_form

    form = toy_form(tmp_path)
    assert form.entry("q1_cost").asked_if == (("q1_why", ("費用",)),)
    assert form.entry("q1_why").type == "multi"


MINISTRY_2024 = """\
    extends: ministry_2023
    wave: "2024"
    fielded: {opens: "2024-11-06", closes: "2024-12-20", timezone: Asia/Tokyo}
"""


def test_extends_adds_a_new_wave(tmp_path, monkeypatch):
    _write(tmp_path, "ministry_2024.yaml", MINISTRY_2024)
    cb = load_codebook(tmp_path)
    assert cb.waves("ministry") == ("2023", "2024")
    old, new = cb.form("ministry", "2023"), cb.form("ministry", "2024")
    assert (new.opens, new.closes) == (date(2024, 11, 6), date(2024, 12, 20))
    assert (old.opens, old.closes) == (date(2023, 11, 8), date(2023, 12, 21))
    assert new.entries == old.entries
    assert new.mirrors == old.mirrors and new.supersede_on == old.supersede_on
    assert (new.export, new.title, new.source) == (old.export, old.title, "ministry_2024.yaml")
    # the same through the environment variable the pipeline reads
    monkeypatch.setenv("KORYU_CODEBOOK_DIR", str(tmp_path))
    assert get_codebook().has_form("ministry", "2024")
    monkeypatch.delenv("KORYU_CODEBOOK_DIR")
    assert not get_codebook().has_form("ministry", "2024")


def test_extends_can_override_an_entry_list(tmp_path):
    """A wave that changes its questions restates its entries; they replace the parent's."""
    _write(
        tmp_path,
        "hires_2024.yaml",
        """\
        extends: hires_2023
        wave: "2024"
        entries:
          - id: host_org_type
            header: 現在の交流先
            type: single
            options: [府省, 行政執行法人, その他]
            required: true
        crosswalks: []
        """,
    )
    cb = load_codebook(tmp_path)
    h24 = cb.form("hires", "2024")
    assert [e.id for e in h24.entries] == ["host_org_type"]
    assert [o.code for o in h24.entry("host_org_type").options] == [1, 2, 3]
    assert h24.opens == date(2023, 11, 8)  # inherited
    assert len(cb.form("hires", "2023").entries) == 5


def test_extends_unknown_or_circular_parent(tmp_path):
    _write(tmp_path / "a", "ministry_2024.yaml", "extends: ministry_1999\nwave: '2024'\n")
    with pytest.raises(CodebookError, match="cannot extend 'ministry_1999'"):
        load_codebook(tmp_path / "a")
    _write(tmp_path / "b", "x_2024.yaml", "extends: y_2024\n")
    _write(tmp_path / "b", "y_2024.yaml", "extends: x_2024\n")
    with pytest.raises(CodebookError, match="cannot extend"):
        load_codebook(tmp_path / "b")


def test_package_forms_are_the_deployed_ones():
    assert sorted(p.name for p in FORMS_DIR.glob("*.yaml")) == [
        "hires_2023.yaml",
        "ministry_2023.yaml",
    ]


def test_non_substantive_options_are_marked(cb):
    m, h = cb.form("ministry", "2023"), cb.form("hires", "2023")
    assert m.entry("q12").non_substantive_codes == {9, 10}  # 特になし, 分からない等
    assert h.entry("support_wishes").non_substantive_codes == {12}  # 特になし
    assert m.entry("q04").non_substantive_codes == {5}  # 分からない、効果未検証等
    # 「no such case」 is a finding, not a non-answer
    assert m.entry("q04").options[0].substantive
    # every その他 / 分からない / 特になし option of a question is marked
    for form in (m, h):
        for e in form.questions:
            for o in e.options:
                if e.type != "likert" and any(w in o.label for w in ("その他", "分から", "特に")):
                    assert not o.substantive, (e.id, o.label)


def _mirrors_2024(tmp_path: Path, mirrors: str) -> Path:
    return _write(
        tmp_path,
        "ministry_2024.yaml",
        'extends: ministry_2023\nwave: "2024"\nmirrors:\n' + textwrap.dedent(mirrors),
    )


@pytest.mark.parametrize(
    ("mirrors", "expected"),
    [
        (
            "  - questions: [q07, q16]\n    pairs: [[更なる交流派遣に積極的, 1]]\n",
            "mirror q07<->q16 pair 1: q07 has no option '更なる交流派遣に積極的'",
        ),
        (
            "  - questions: [q01, q09]\n    pairs: [[職員の育成のため, 即戦力となる人材]]\n",
            "mirror q01<->q09 pair 1: q09 has no item '即戦力となる人材'",
        ),
        (
            "  - questions: [q07, q16]\n    pairs: [[1, 1], [2, 2], [どちらともいえない, 3]]\n",
            "pair 3: q07 option 'どちらともいえない' is already paired \\(pair 2\\)",
        ),
        ("  - questions: [q07, q16]\n    pairs: [[1, 1], [2, 1]]\n", "q16 option 1 is already"),
        ("  - questions: [q07, q16]\n    pairs: [[4, 1]]\n", "q07 has no option 4"),
        ("  - questions: [q01, q16]\n    pairs: [[1, 1]]\n", "pairs a likert with a single"),
        ("  - questions: [q07, q99]\n    pairs: [[1, 1]]\n", "q07<->q99 names an unknown entry"),
        ("  - questions: [q07, q16]\n", "mirror q07<->q16 lists no pairs"),
        ("  - [q07, q16]\n", r"a mirror is \{questions: "),
        ("  - questions: [q07]\n    pairs: [[1, 1]]\n", "must name exactly two questions"),
    ],
)
def test_mirror_pairs_are_checked_on_load(tmp_path, mirrors, expected):
    _mirrors_2024(tmp_path, mirrors)
    with pytest.raises(CodebookError, match=expected):
        load_codebook(tmp_path)


def test_mirror_problems_are_listed_together(tmp_path):
    _mirrors_2024(
        tmp_path,
        """\
          - questions: [q07, q16]
            pairs: [[1, 9], [1, 2]]
          - questions: [q08_age, q17_age]
            pairs: [[20代, 20代], [60代, 30代]]
        """,
    )
    with pytest.raises(CodebookError) as info:
        load_codebook(tmp_path)
    message = str(info.value)
    assert "ministry_2024.yaml: mirror q07<->q16 pair 1: q16 has no option 9" in message
    assert "mirror q07<->q16 pair 2: q07 option 1 is already paired (pair 1)" in message
    assert "mirror q08_age<->q17_age pair 2: q08_age has no option '60代'" in message


def test_substantive_must_be_a_boolean(tmp_path):
    _write(
        tmp_path,
        "broken_2023.yaml",
        BROKEN.replace("options: [A, B]\n", "options: [A, {text: B, substantive: maybe}]\n", 1),
    )
    with pytest.raises(CodebookError, match="option 2 substantive must be true or false"):
        load_codebook(tmp_path)


def test_wave_number_is_the_survey_year():
    assert wave_number("2023") == 2023 and wave_number(2024) == 2024
    for bad in ("2023b", "", "２０２３", "-1"):
        with pytest.raises(ValueError, match="survey year"):
            wave_number(bad)
