"""`marts/breakdowns/<instrument>/<attribute>`: every question of an instrument, split by
one respondent attribute, with a total row and small groups suppressed (marts/suppress.py).

Which attributes: the form's single-choice respondent attributes that do not route the
questionnaire (the screening questions s_dispatch/s_hire define who is asked, so splitting
by them only repeats the routing) -- ministry: org_type; hires: host_org_type, age_band,
industry. Respondents without a value for the attribute are in no group of its table, and
in its total row (全体, group_code 0, `is_total`), which counts everyone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from koryu_pipeline.codebook import Codebook, wave_number
from koryu_pipeline.marts.codes import Counts, Facts, code_facts
from koryu_pipeline.marts.questions import data_waves, skeleton, tabulate
from koryu_pipeline.marts.suppress import suppress
from koryu_pipeline.warehouse.frames import conform, empty
from koryu_pipeline.warehouse.tables import (
    BREAKDOWN_SCHEMA,
    BREAKDOWN_SORT,
    breakdown_attributes,
    breakdown_key,
    breakdown_table_keys,
)

# The total row of every question cell: all respondents of the instrument and wave, with or
# without a value for the attribute (so it equals the question mart's row). Option codes
# start at 1, so 0 names no group.
TOTAL_CODE = 0
TOTAL_LABEL = "全体"
# One question cell of a breakdown: its groups and its total row (`_item` is the item key
# the tabulation adds, "" for a question without items).
CELL = ("instrument", "wave", "attribute", "question_id", "_item")


def _groups(codebook: Codebook, waves: dict[str, list[str]]) -> pd.DataFrame:
    """Every (instrument, wave, attribute) group: the total, then the attribute's options in
    that wave."""
    rows = [
        {
            "instrument": instrument,
            "wave": wave_number(wave),
            "attribute": attribute,
            "group_code": code,
            "group_label": label,
            "group_sort": code,
            "is_total": code == TOTAL_CODE,
        }
        for instrument, inst_waves in waves.items()
        for attribute in breakdown_attributes(codebook, instrument)
        for wave in inst_waves
        if attribute in codebook.form(instrument, wave).entry_by_id
        for code, label in [
            (TOTAL_CODE, TOTAL_LABEL),
            *((o.code, o.label) for o in codebook.form(instrument, wave).entry(attribute).options),
        ]
    ]
    return pd.DataFrame(rows)


def _group_counts(codebook: Codebook, respondents: pd.DataFrame, facts: Facts) -> dict[str, Counts]:
    """Per attribute, the counts by group. A respondent is in the group of its attribute
    code (if it has one) and in the attribute's total; its exposures and answers reach the
    group by its respondent code, not by a join that repeats them per attribute."""
    codes = facts.respondent_codes(respondents["respondent_id"])
    members: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for instrument in codebook.instruments:
        mine = (respondents["instrument"] == instrument).to_numpy(dtype=bool, na_value=False)
        for attribute in breakdown_attributes(codebook, instrument):
            code = respondents[f"{attribute}_code"]
            has = mine & code.notna().to_numpy(dtype=bool)
            members.setdefault(attribute, []).extend(
                [
                    (codes[has], code[has].astype("int64").to_numpy()),
                    (codes[mine], np.full(int(mine.sum()), TOTAL_CODE, np.int64)),
                ]
            )
    return facts.count_groups(members)


def breakdown_tables(
    codebook: Codebook,
    respondents: pd.DataFrame,
    answers: pd.DataFrame,
    exposures: pd.DataFrame,
    suppress_below: int,
    facts: Facts | None = None,
) -> dict[str, pd.DataFrame]:
    """Every breakdown table, keyed by `breakdown_key`. All attributes are counted from the
    facts coded once (`facts`, as build_marts passes them, or coded here)."""
    keys = breakdown_table_keys(codebook)
    facts = facts if facts is not None else code_facts(answers, exposures)
    waves = {i: data_waves(facts.exposure_cells, i) for i in codebook.instruments}
    cells = skeleton(codebook, waves)
    groups = _groups(codebook, waves)
    if cells.empty or groups.empty:
        return {key: empty(BREAKDOWN_SCHEMA) for key in keys}
    cells = cells.merge(groups, on=["instrument", "wave"])
    counts = _group_counts(codebook, respondents, facts)
    counted = tabulate(cells, counts, by=("attribute", "group_code"))
    frame = suppress(counted, suppress_below, cell=CELL)
    frame = conform(frame, BREAKDOWN_SCHEMA, ("instrument", "attribute", *BREAKDOWN_SORT))
    parts = {
        breakdown_key(str(i), str(a)): part.reset_index(drop=True)
        for (i, a), part in frame.groupby(["instrument", "attribute"], sort=False)
    }
    blank = empty(BREAKDOWN_SCHEMA)
    return {key: parts[key] if key in parts else blank.copy() for key in keys}
