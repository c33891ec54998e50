"""Pandera schemas generated from the codebook.

`response_schema(form)` validates the readers' wide frame. Every check is named after the
rejection rule it enforces (warehouse.md); wide checks that span columns are named
`<rule>@<column>` so a failure names its column. Validation is lazy: every rule a response
breaks is collected, then each failure becomes one rejection record.

The checks are vectorised, not element-wise: a choice column's rule is decided once per
distinct cell (`value_mask`) and taken back to the rows by code; the fielding window is
compared on the datetime column; routing comes from `Routing`, shared by every routing
check of one validation (`shared_routing`). A check fails exactly the rows the cell-by-cell
rule would, so pandera reports the same failure cases.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, timedelta
from functools import cache

import pandas as pd
import pandera.pandas as pa

from koryu_pipeline.codebook import Entry, Field, Form
from koryu_pipeline.codebook.routing import Routing, answered_mask, value_mask

SUBMITTED = "submitted_at"


def _per_value(test: Callable[[object], bool]) -> Callable[[pd.Series], pd.Series]:
    """A column check asking `test` once per distinct value (pandera passes the column
    without its missing cells, which no choice rule concerns)."""

    def check(values: pd.Series) -> pd.Series:
        return pd.Series(value_mask(values, test, missing=True), index=values.index)

    return check


def _choice_checks(entry: Entry) -> list[pa.Check]:
    known = frozenset(entry.option_by_key)
    if not entry.is_multi:
        return [pa.Check(_per_value(lambda v: v in known), name="unknown_option")]
    checks = [pa.Check(_per_value(lambda v: all(x in known for x in v)), name="unknown_option")]
    if entry.max_choices is not None:
        limit = entry.max_choices
        checks.append(pa.Check(_per_value(lambda v: len(v) <= limit), name="too_many_choices"))
    if entry.exclusive_keys:
        excl = entry.exclusive_keys
        checks.append(
            pa.Check(
                _per_value(lambda v: len(v) <= 1 or not (set(v) & excl)),
                name="exclusive_option",
            )
        )
    return checks


def _in_window(opens: date, closes: date, tz: str) -> Callable[[pd.Series], pd.Series]:
    """The submission's local date within opens..closes (the close date inclusive): its
    local wall time from opens' midnight up to, not including, the midnight after closes."""
    start = pd.Timestamp(opens)
    end = pd.Timestamp(closes + timedelta(days=1))

    def check(submitted: pd.Series) -> pd.Series:
        local = submitted.dt.tz_convert(tz).dt.tz_localize(None)
        return (local >= start) & (local < end)

    return check


# The Routing of the frame being validated, shared by its routing checks (pandera calls each
# check with the same frame): see shared_routing.
_ROUTING: ContextVar[Routing | None] = ContextVar("koryu_routing", default=None)


@contextmanager
def shared_routing(form: Form, wide: pd.DataFrame) -> Iterator[None]:
    """While validating `wide`, let every routing check use one Routing of it."""
    token = _ROUTING.set(Routing(form, wide))
    try:
        yield
    finally:
        _ROUTING.reset(token)


def _routing_of(form: Form, df: pd.DataFrame) -> Routing:
    shared = _ROUTING.get()
    # only for the very frame being validated (pandera might pass another): else afresh
    if shared is not None and shared.wide is df and shared.form is form:
        return shared
    return Routing(form, df)


def _routing_checks(form: Form, field: Field) -> list[pa.Check]:
    entry, col = field.entry, field.column
    checks: list[pa.Check] = []
    # ignore_na=False: pandera's ignore_na would pass rows whose every cell is missing, and
    # there are none (source_row is never missing), but it looks at every cell to see that
    if entry.asked_if:

        def not_routed(df: pd.DataFrame, e: Entry = entry, c: str = col) -> pd.Series:
            ok = _routing_of(form, df).shown(e) | ~answered_mask(df[c])
            return pd.Series(ok, index=df.index, name=c)

        checks.append(pa.Check(not_routed, name=f"not_routed@{col}", ignore_na=False))
    if entry.required:

        def missing_required(df: pd.DataFrame, e: Entry = entry, c: str = col) -> pd.Series:
            ok = ~_routing_of(form, df).shown(e) | answered_mask(df[c])
            return pd.Series(ok, index=df.index, name=c)

        checks.append(pa.Check(missing_required, name=f"missing_required@{col}", ignore_na=False))
    return checks


@cache
def response_schema(form: Form) -> pa.DataFrameSchema:
    columns: dict[str, pa.Column] = {
        "source_file": pa.Column(str, nullable=False),
        "source_row": pa.Column(int, nullable=False),
        SUBMITTED: pa.Column(
            None,
            [
                pa.Check(lambda s: s.notna(), name="invalid_timestamp", ignore_na=False),
                pa.Check(
                    _in_window(form.opens, form.closes, form.timezone),
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


def validate_responses(form: Form, wide: pd.DataFrame) -> pd.DataFrame | None:
    """Run the schema lazily over `wide`: pandera's failure cases, or None when it passes."""
    try:
        with shared_routing(form, wide):
            # inplace: the checks read the frame, nothing is written (and no copy is made)
            response_schema(form).validate(wide, lazy=True, inplace=True)
        return None
    except pa.errors.SchemaErrors as err:
        return err.failure_cases
