"""`marts/breakdowns/<instrument>/<attribute>`: every question of an instrument, split by
one respondent attribute, with small groups suppressed.

Which attributes: the form's single-choice respondent attributes that do not route the
questionnaire (the screening questions s_dispatch/s_hire define who is asked, so splitting
by them only repeats the routing) -- ministry: org_type; hires: host_org_type, age_band,
industry. Respondents without a value for the attribute are left out of its table.
"""

from __future__ import annotations

import pandas as pd

from koryu_pipeline.codebook import Codebook, wave_number
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


def _groups(codebook: Codebook, waves: dict[str, list[str]]) -> pd.DataFrame:
    """Every (instrument, wave, attribute) group: the attribute's options in that wave."""
    rows = [
        {
            "instrument": instrument,
            "wave": wave_number(wave),
            "attribute": attribute,
            "group_code": o.code,
            "group_label": o.label,
            "group_sort": o.code,
        }
        for instrument, inst_waves in waves.items()
        for attribute in breakdown_attributes(codebook, instrument)
        for wave in inst_waves
        if attribute in codebook.form(instrument, wave).entry_by_id
        for o in codebook.form(instrument, wave).entry(attribute).options
    ]
    return pd.DataFrame(rows)


def _membership(codebook: Codebook, respondents: pd.DataFrame) -> pd.DataFrame:
    """respondent_id, attribute, group_code: one row per respondent and attribute it has."""
    parts = []
    for instrument in codebook.instruments:
        mine = respondents.loc[respondents["instrument"] == instrument]
        for attribute in breakdown_attributes(codebook, instrument):
            code = mine[f"{attribute}_code"]
            parts.append(
                pd.DataFrame(
                    {
                        "respondent_id": mine["respondent_id"],
                        "attribute": attribute,
                        "group_code": code,
                    }
                ).loc[code.notna()]
            )
    out = pd.concat(parts, ignore_index=True)
    return out.astype({"group_code": "int64"})


def breakdown_tables(
    codebook: Codebook,
    respondents: pd.DataFrame,
    answers: pd.DataFrame,
    exposures: pd.DataFrame,
    suppress_below: int,
) -> dict[str, pd.DataFrame]:
    """Every breakdown table, keyed by `breakdown_key`. All attributes are counted in one
    pass: each exposure is repeated once per attribute of its respondent."""
    keys = breakdown_table_keys(codebook)
    waves = {i: data_waves(exposures, i) for i in codebook.instruments}
    cells = skeleton(codebook, waves)
    groups = _groups(codebook, waves)
    if cells.empty or groups.empty:
        return {key: empty(BREAKDOWN_SCHEMA) for key in keys}
    cells = cells.merge(groups, on=["instrument", "wave"])
    x = exposures.merge(_membership(codebook, respondents), on="respondent_id")
    frame = suppress(tabulate(cells, answers, x, by=("attribute", "group_code")), suppress_below)
    frame = conform(frame, BREAKDOWN_SCHEMA, ("instrument", "attribute", *BREAKDOWN_SORT))
    parts = {
        breakdown_key(str(i), str(a)): part.reset_index(drop=True)
        for (i, a), part in frame.groupby(["instrument", "attribute"], sort=False)
    }
    return {key: parts.get(key, empty(BREAKDOWN_SCHEMA)) for key in keys}
