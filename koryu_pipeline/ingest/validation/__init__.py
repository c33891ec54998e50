"""Validation of one instrument's wave: pandera rules, duplicates, row conservation.

`validate_wave` takes every parsed export of one instrument and wave and returns the
accepted responses (wide, with `respondent_id`), one rejection record per rule broken, and
a per-file summary in which accepted + rejected = rows in the file. A response is accepted
whole or rejected whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa

from koryu_pipeline.codebook import Form, wave_number
from koryu_pipeline.ingest.readers import ParsedExport
from koryu_pipeline.ingest.readers.base import META_COLUMNS, SUBMITTED_TEXT, shown_value
from koryu_pipeline.ingest.readers.normalise import stable_id
from koryu_pipeline.ingest.validation.dedupe import find_duplicates, find_superseded
from koryu_pipeline.ingest.validation.schemas import SUBMITTED, response_schema
from koryu_pipeline.warehouse.tables import FILES_SCHEMA, REJECTIONS_SCHEMA

__all__ = ["WaveValidation", "response_schema", "validate_wave"]

RULE_MESSAGES = {
    "unknown_option": "「{value}」 is not an option of {header}",
    "too_many_choices": "{count} choices given where {header} allows at most {limit}",
    "exclusive_option": "an exclusive option was combined with others in {header}",
    "not_routed": "{header} was answered but its routing did not show it",
    "missing_required": "required {header} is empty",
    "outside_fielding_window": "submitted {value}, outside the fielding window {opens}..{closes}",
    "invalid_timestamp": "the submission time is empty or cannot be read",
}
# A rule the readers apply themselves (the row has no cells to validate): its message is the
# reader's.
READER_RULES = ("malformed_row",)


@dataclass
class WaveValidation:
    accepted: pd.DataFrame  # wide; META_COLUMNS + respondent_id + one column per field
    rejections: pd.DataFrame  # REJECTIONS_SCHEMA
    files: pd.DataFrame  # FILE_SUMMARY_SCHEMA


def _render(value: object) -> str | None:
    """A value as a rejection shows it (long text cut: a rejection points at the cell)."""
    if value is None or (not isinstance(value, tuple) and pd.isna(value)):
        return None
    if isinstance(value, tuple):
        return shown_value(";".join(value))
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return shown_value(str(value))


def _file_message(exp: ParsedExport) -> str:
    """A whole-file rejection's message: file, rule, then the reader's explanation."""
    assert exp.problem is not None
    text = exp.problem.message.removeprefix(f"{exp.source_file}: ")
    return f"{exp.source_file}: {exp.problem.rule}: {text}"


def _header(form: Form, column: str) -> str:
    for f in form.fields:
        if f.column == column:
            label = f.header if len(f.header) <= 40 else f.header[:39] + "…"
            return f"{column} 「{label}」"
    return column


def _rule_records(form: Form, wide: pd.DataFrame) -> list[dict[str, object]]:
    """Run the pandera schema lazily and turn each failure case into a rejection record."""
    try:
        response_schema(form).validate(wide, lazy=True)
        return []
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
    records: list[dict[str, object]] = []
    # A frame-level check is reported once per column of a failing row: keep one per row.
    # Column checks share their names across columns (every choice column has an
    # `unknown_option`), so they stay distinct per column.
    cases = cases[cases["index"].notna()]
    frame_level = cases["schema_context"] == "DataFrameSchema"
    cases = cases.assign(_col=cases["column"].where(~frame_level, "")).drop_duplicates(
        ["check", "_col", "index"]
    )
    for case in cases.itertuples(index=False):
        rule, _, column = str(case.check).partition("@")
        column = column or str(case.column)
        idx = int(case.index)
        value = wide.at[idx, column] if column in wide.columns else None
        if rule == "invalid_timestamp":
            value = wide.at[idx, SUBMITTED_TEXT]  # the cell as written (None when empty)
        if rule not in RULE_MESSAGES:  # a dtype or presence failure: a schema bug, not data
            raise RuntimeError(f"unexpected pandera failure {case}")
        entry = next((f.entry for f in form.fields if f.column == column), None)
        shown = value
        if rule == "unknown_option" and isinstance(value, tuple) and entry is not None:
            shown = tuple(v for v in value if v not in entry.option_by_key)
        records.append(
            {
                "_index": idx,
                "rule": rule,
                "column": "完了時刻/タイムスタンプ" if column == SUBMITTED else column,
                "value": _render(shown),
                "message": RULE_MESSAGES[rule].format(
                    value=_render(shown),
                    header=_header(form, column),
                    count=len(value) if isinstance(value, tuple) else 1,
                    limit=entry.max_choices if entry else "",
                    opens=form.opens,
                    closes=form.closes,
                ),
            }
        )
    return records


def validate_wave(form: Form, exports: list[ParsedExport]) -> WaveValidation:
    columns = [*META_COLUMNS, *(f.column for f in form.fields), SUBMITTED_TEXT]
    file_records: list[dict[str, object]] = []
    rejections: list[dict[str, object]] = []
    frames = []
    for exp in exports:
        if exp.problem is not None:
            rejections.append(
                {
                    "source_file": exp.source_file,
                    "source_row": None,
                    "rule": exp.problem.rule,
                    "column": exp.problem.column,
                    "value": None,
                    "message": _file_message(exp),
                }
            )
            continue
        rejections.extend(
            {
                "source_file": exp.source_file,
                "source_row": p.source_row,
                "rule": p.rule,
                "column": None,
                "value": None,
                "message": f"{exp.source_file} row {p.source_row}: {p.rule}: {p.message}",
            }
            for p in exp.row_problems
        )
        if exp.frame is not None and not exp.frame.empty:
            frames.append(exp.frame[columns])
    wide = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    wide[SUBMITTED] = pd.to_datetime(wide[SUBMITTED], utc=True).dt.as_unit("us")
    # One export never lists a response twice, so identical keys within a file are distinct
    # responses (two anonymous hires submitting the same answers in the same second): number
    # them, and the k-th of a file matches only the k-th of another export.
    occurrence = wide.groupby(["source_file", "response_key"], sort=False).cumcount()
    wide["response_key"] = wide["response_key"] + "#" + occurrence.astype(str)

    row_records = _rule_records(form, wide)
    dups = find_duplicates(wide)
    for idx, row in dups.iterrows():
        row_records.append(
            {
                "_index": idx,
                "rule": "duplicate",
                "column": None,
                "value": None,
                "message": f"the same response as {row.kept_file} row {row.kept_row}; "
                "kept there, counted once",
            }
        )
    superseded = find_superseded(form, wide.drop(index=dups.index))
    for idx, row in superseded.iterrows():
        row_records.append(
            {
                "_index": idx,
                "rule": "superseded",
                "column": ",".join(form.supersede_on),
                "value": "/".join(
                    "" if pd.isna(wide.at[idx, c]) else str(wide.at[idx, c])
                    for c in form.supersede_on
                ),
                "message": f"superseded by a later submission ({row.by_file} row {row.by_row}"
                f", {row.by_time.isoformat() if pd.notna(row.by_time) else '?'})",
            }
        )
    for rec in row_records:
        idx = rec.pop("_index")
        rec["source_file"] = wide.at[idx, "source_file"]
        rec["source_row"] = int(wide.at[idx, "source_row"])
        # the message stands on its own in a log: file, row, rule, then what was wrong
        rec["message"] = f"{rec['source_file']} row {rec['source_row']}: {rec['rule']}: " + str(
            rec["message"]
        )
        rejections.append(rec)

    rejected_keys = {(r["source_file"], r["source_row"]) for r in rejections if r["source_row"]}
    rejected_mask = pd.Series(
        [
            (f, int(r)) in rejected_keys
            for f, r in zip(wide["source_file"], wide["source_row"], strict=True)
        ],
        index=wide.index,
        dtype=bool,
    )
    accepted = wide[~rejected_mask].copy()
    accepted.insert(
        0,
        "respondent_id",
        [
            stable_id(form.instrument[0], form.instrument, form.wave, key)
            for key in accepted["response_key"]
        ],
    )
    accepted = accepted.sort_values("respondent_id", kind="stable").reset_index(drop=True)

    for exp in exports:
        mine = wide["source_file"] == exp.source_file
        n_rejected = int((mine & rejected_mask).sum()) + len(exp.row_problems)
        file_records.append(
            {
                "instrument": form.instrument,
                "wave": wave_number(form.wave),
                "source_file": exp.source_file,
                "rows": exp.rows,
                "accepted": int((mine & ~rejected_mask).sum()),
                "rejected": exp.rows if exp.problem else n_rejected,
                "file_rejected": exp.problem is not None,
            }
        )

    rej = pd.DataFrame(
        rejections, columns=[c for c in REJECTIONS_SCHEMA.names if c not in ("instrument", "wave")]
    )
    rej.insert(0, "instrument", form.instrument)
    rej.insert(1, "wave", wave_number(form.wave))
    rej["source_row"] = rej["source_row"].astype("Int32")
    rej = rej.sort_values(
        ["source_file", "source_row", "rule", "column"], kind="stable", na_position="first"
    ).reset_index(drop=True)
    files = (
        pd.DataFrame(file_records, columns=FILES_SCHEMA.names)
        .sort_values("source_file", kind="stable")
        .reset_index(drop=True)
    )
    return WaveValidation(accepted=accepted, rejections=rej[REJECTIONS_SCHEMA.names], files=files)
