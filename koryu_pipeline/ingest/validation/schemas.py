"""Pandera schemas generated from the codebook.

`response_schema(form)` validates the readers' wide frame. Every check is named after the
rejection rule it enforces (warehouse.md); wide checks that span columns are named
`<rule>@<column>` so a failure names its column. Validation is lazy: every rule a response
breaks is collected, then each failure becomes one rejection record.
"""

from __future__ import annotations

from datetime import date
from functools import cache

import pandas as pd
import pandera.pandas as pa

from koryu_pipeline.codebook import Entry, Field, Form
from koryu_pipeline.codebook.routing import answered, routed_mask

SUBMITTED = "submitted_at"


def _choice_checks(entry: Entry) -> list[pa.Check]:
    known = frozenset(entry.option_by_key)
    if not entry.is_multi:
        return [pa.Check(lambda v: v in known, element_wise=True, name="unknown_option")]
    checks = [
        pa.Check(lambda v: all(x in known for x in v), element_wise=True, name="unknown_option")
    ]
    if entry.max_choices is not None:
        limit = entry.max_choices
        checks.append(
            pa.Check(lambda v: len(v) <= limit, element_wise=True, name="too_many_choices")
        )
    if entry.exclusive_keys:
        excl = entry.exclusive_keys
        checks.append(
            pa.Check(
                lambda v: len(v) <= 1 or not (set(v) & excl),
                element_wise=True,
                name="exclusive_option",
            )
        )
    return checks


def _in_window(opens: date, closes: date, tz: str):
    def check(ts: pd.Timestamp) -> bool:
        local = ts.tz_convert(tz).date()
        return opens <= local <= closes  # the close date is inclusive

    return check


def _routing_checks(form: Form, field: Field) -> list[pa.Check]:
    entry, col = field.entry, field.column
    checks: list[pa.Check] = []
    if entry.asked_if:

        def not_routed(df: pd.DataFrame, e: Entry = entry, c: str = col) -> pd.Series:
            ok = routed_mask(form, e, df) | ~df[c].map(answered)
            return ok.rename(c)

        checks.append(pa.Check(not_routed, name=f"not_routed@{col}"))
    if entry.required:

        def missing_required(df: pd.DataFrame, e: Entry = entry, c: str = col) -> pd.Series:
            ok = ~routed_mask(form, e, df) | df[c].map(answered)
            return ok.rename(c)

        checks.append(pa.Check(missing_required, name=f"missing_required@{col}"))
    return checks


@cache
def response_schema(form: Form) -> pa.DataFrameSchema:
    columns: dict[str, pa.Column] = {
        "source_file": pa.Column(str, nullable=False),
        "source_row": pa.Column(int, nullable=False),
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
                    _in_window(form.opens, form.closes, form.timezone),
                    element_wise=True,
                    name="outside_fielding_window",
                ),
            ],
            nullable=True,
        ),
        "response_key": pa.Column(str, nullable=False),
    }
    wide: list[pa.Check] = []
    for f in form.fields:
        checks = _choice_checks(f.entry) if f.entry.is_choice else []
        columns[f.column] = pa.Column(None, checks, nullable=True, required=True)
        wide.extend(_routing_checks(form, f))
    return pa.DataFrameSchema(
        columns, checks=wide, name=f"{form.instrument}_{form.wave}_responses", strict=False
    )
