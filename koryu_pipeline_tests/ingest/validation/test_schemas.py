"""The pandera schema's vectorised checks fail exactly the cells the rules fail cell by cell:
the reference here is each rule written per cell (element-wise pandera checks), run on
frames the readers give for real exports breaking every rule."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
import pytest

from koryu_pipeline.codebook import Entry, Form, get_codebook, normalise_text
from koryu_pipeline.codebook.routing import _chose_any, answered
from koryu_pipeline.ingest.readers import export_files, read_export
from koryu_pipeline.ingest.validation import validate_file, wide_columns
from koryu_pipeline.ingest.validation.schemas import (
    SUBMITTED,
    response_schema,
    shared_routing,
    validate_responses,
)
from koryu_pipeline_tests.exports import (
    base_hires,
    base_ministry,
    hires_form,
    ministry_form,
    toy_form,
    write_google_csv,
    write_msforms_xlsx,
)

# ------------------------------------------------------------------ the rules cell by cell


def _shown(form: Form, entry: Entry, row: pd.Series) -> bool:
    for dep, values in entry.asked_if:
        if not _chose_any(row[dep], frozenset(normalise_text(v) for v in values)):
            return False
        parent = form.entry_by_id[dep]
        if parent.asked_if and not _shown(form, parent, row):
            return False
    return True


def _cellwise_schema(form: Form) -> pa.DataFrameSchema:
    def window(opens: date, closes: date, tz: str):
        return lambda ts: opens <= ts.tz_convert(tz).date() <= closes

    columns = {
        SUBMITTED: pa.Column(
            None,
            [
                pa.Check(
                    lambda v: v is not None and not pd.isna(v),
                    element_wise=True,
                    name="invalid_timestamp",
                    ignore_na=False,
                ),
                pa.Check(
                    window(form.opens, form.closes, form.timezone),
                    element_wise=True,
                    name="outside_fielding_window",
                ),
            ],
            nullable=True,
        )
    }
    wide: list[pa.Check] = []
    for f in form.fields:
        e, col = f.entry, f.column
        known = frozenset(e.option_by_key)
        checks = []
        if e.is_choice and not e.is_multi:
            checks.append(
                pa.Check(lambda v, k=known: v in k, element_wise=True, name="unknown_option")
            )
        if e.is_multi:
            checks.append(
                pa.Check(
                    lambda v, k=known: all(x in k for x in v),
                    element_wise=True,
                    name="unknown_option",
                )
            )
            if e.max_choices is not None:
                checks.append(
                    pa.Check(
                        lambda v, n=e.max_choices: len(v) <= n,
                        element_wise=True,
                        name="too_many_choices",
                    )
                )
            if e.exclusive_keys:
                checks.append(
                    pa.Check(
                        lambda v, x=e.exclusive_keys: len(v) <= 1 or not (set(v) & x),
                        element_wise=True,
                        name="exclusive_option",
                    )
                )
        columns[col] = pa.Column(None, checks, nullable=True)
        if e.asked_if:
            wide.append(
                pa.Check(
                    lambda r, e=e, c=col: not answered(r[c]) or _shown(form, e, r),
                    element_wise=True,
                    name=f"not_routed@{col}",
                )
            )
        if e.required:
            wide.append(
                pa.Check(
                    lambda r, e=e, c=col: answered(r[c]) or not _shown(form, e, r),
                    element_wise=True,
                    name=f"missing_required@{col}",
                )
            )
    return pa.DataFrameSchema(columns, checks=wide, strict=False)


def _cases(schema: pa.DataFrameSchema, wide: pd.DataFrame) -> set[tuple[str, str, int]]:
    """(check, column -- '' for a frame-wide check --, row index) of every failure."""
    try:
        schema.validate(wide, lazy=True)
        return set()
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
    cases = cases[cases["index"].notna()]
    frame_level = cases["schema_context"] == "DataFrameSchema"
    column = cases["column"].where(~frame_level, "")
    return set(zip(cases["check"], column, cases["index"].astype(int), strict=True))


# ------------------------------------------------------------------ exports breaking them


def _ministry_rows() -> list[dict[str, object]]:
    return [
        base_ministry(org_name="A省"),
        base_ministry(
            org_type=None,
            q07="xx",
            q08_age="yy",
            q17_traits=["zz", "その他", "主体性・積極性がある", "マネジメント経験がある"],
            q01_1="よく当てはまる",
            q04=["十分な成果を得られなかったケースはない", "分からない、効果未検証等"],
        ),
        base_ministry(org_name=None, s_hire="はい", q12=["特になし", "煩雑な手続き"]),
        base_ministry(org_name="　 ", q07_reasons=["その他"]),
        base_ministry(s_dispatch="はい", q01_1="よく当てはまる", q04=["分からない、効果未検証等"]),
        base_ministry(org_type="府庁", q17_traits=["その他", "空を飛べる"]),
    ]


def _frames(tmp_path: Path) -> list[tuple[Form, pd.DataFrame]]:
    raw = tmp_path / "raw"
    write_msforms_xlsx(
        raw / "ministry" / "2023" / "m.xlsx",
        _ministry_rows(),
        submitted=[datetime(2023, 11, 20 + n) for n in range(5)] + [datetime(2023, 12, 22, 1)],
    )
    write_google_csv(
        raw / "hires" / "2023" / "h.csv",
        [
            base_hires(),
            base_hires(タイムスタンプ="昨日"),
            base_hires(タイムスタンプ="2023/12/22 12:00:00 午前 GMT+9"),
            base_hires(タイムスタンプ="2023/11/07 23:59:00"),
            base_hires(タイムスタンプ="2023/12/21 11:59:59 午後 GMT+9", age_band="90代"),
            base_hires(support_wishes=["特になし", "上司等との面談機会の充実"], industry=None),
            base_hires(
                support_wishes=[
                    "府省特有の文化やルールに関する解説の充実",
                    "前任者からの業務の丁寧な引継ぎ",
                    "上司等との面談機会の充実",
                    "人事担当課における相談窓口の拡充",
                ]
            ),
        ],
    )
    out = []
    for instrument, form in (("ministry", ministry_form()), ("hires", hires_form())):
        (path,) = export_files(raw, instrument, "2023")
        fv = validate_file(form, read_export(path, raw, get_codebook(), instrument, "2023"))
        assert fv.wide is not None
        out.append((form, fv.wide))
    return out


def test_vectorised_checks_fail_the_cells_the_rules_fail(tmp_path):
    for form, wide in _frames(tmp_path):
        expected = _cases(_cellwise_schema(form), wide)
        assert len({rule for rule, _, _ in expected}) >= 4, form.instrument  # a real test
        got = _cases(response_schema(form), wide)
        assert got == expected, form.instrument
        # and with the routing shared across the checks, as validation runs them
        with shared_routing(form, wide):
            assert _cases(response_schema(form), wide) == expected


def test_routing_chain_checks_match_cell_by_cell(tmp_path):
    toy = toy_form(tmp_path / "forms")
    rows = [
        {"org_name": "甲", "screen": "いいえ", "q1": "悪い", "q1_why": ["費用"], "q1_cost": "高い"},
        {"org_name": "乙", "screen": "はい", "q1": "良い", "q1_why": ["費用"], "q1_cost": "高い"},
        {"org_name": None, "screen": "はい", "q1": "悪い", "q1_why": ["費用"], "q2_1": "そう思う"},
        {"org_name": "丁", "screen": None, "q2_2": "そう思う", "q3": ["ア", "オ"]},
    ]
    path = write_msforms_xlsx(tmp_path / "toy.xlsx", rows, toy)
    from koryu_pipeline.ingest.readers.msforms_xlsx import read_msforms_xlsx

    parsed = read_msforms_xlsx(path.read_bytes(), "toy/2023/toy.xlsx", toy)
    wide = validate_file(toy, parsed).wide
    assert wide is not None
    expected = _cases(_cellwise_schema(toy), wide)
    assert {c for c, _, _ in expected} >= {"not_routed@q1_cost", "missing_required@org_name"}
    assert _cases(response_schema(toy), wide) == expected


def test_validate_responses_passes_a_clean_frame(tmp_path):
    raw = tmp_path / "raw"
    write_google_csv(raw / "hires" / "2023" / "h.csv", [base_hires(), base_hires()])
    (path,) = export_files(raw, "hires", "2023")
    fv = validate_file(hires_form(), read_export(path, raw, get_codebook(), "hires", "2023"))
    assert fv.wide is not None and list(fv.wide.columns) == wide_columns(hires_form())
    assert validate_responses(hires_form(), fv.wide) is None
    assert fv.records.empty


def test_a_check_that_raises_is_an_error_not_a_pass(tmp_path):
    """pandera reports a check that raised as a failure with no row; validation must not
    take that for a pass."""
    raw = tmp_path / "raw"
    write_google_csv(raw / "hires" / "2023" / "h.csv", [base_hires()])
    (path,) = export_files(raw, "hires", "2023")
    parsed = read_export(path, raw, get_codebook(), "hires", "2023")
    assert parsed.frame is not None
    parsed.frame["support_wishes"] = [12345]  # no tuple: len() of it raises
    with pytest.raises(RuntimeError, match="a validation check failed"):
        validate_file(hires_form(), parsed)
