"""`marts/questions/<instrument>/<question_id>`: one table per question of the codebook.

Nothing here names a question: the tables, their rows and their bases all follow from the
codebook's forms and the exposures, so a new question or wave is a change to the form files.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

from koryu_pipeline.codebook import Codebook
from koryu_pipeline.marts.choice import CELL_KEYS, count_cells, skeleton_rows
from koryu_pipeline.marts.codes import Counts, Facts, code_facts
from koryu_pipeline.marts.likert import add_likert_summaries
from koryu_pipeline.warehouse.frames import conform, empty
from koryu_pipeline.warehouse.tables import (
    QUESTION_SCHEMA,
    RESULTS_SORT,
    instrument_questions,
    question_key,
)


def data_waves(frame: pd.DataFrame, instrument: str) -> list[str]:
    """Waves of `instrument` present in a fact frame (or its distinct cells), sorted."""
    waves = frame.loc[frame["instrument"] == instrument, "wave"].dropna().astype(str)
    return sorted(set(waves))


def skeleton(codebook: Codebook, waves: dict[str, list[str]]) -> pd.DataFrame:
    """Every cell of every question of every (instrument, wave) in `waves`."""
    rows: list[dict[str, object]] = []
    for instrument, inst_waves in waves.items():
        for wave in inst_waves:
            form = codebook.form(instrument, wave)
            for qsort, entry in enumerate(form.entries, start=1):  # as facts/answers numbers
                if not entry.is_attribute and entry.is_choice:
                    rows.extend(skeleton_rows(form, qsort, entry))
    return pd.DataFrame(rows)


def tabulate(
    cells: pd.DataFrame,
    counts: Counts | Mapping[str, Counts],
    by: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Counts, percentages, intervals and likert summaries for the skeleton `cells`."""
    counted = count_cells(cells, counts, by)
    out = add_likert_summaries(counted, [*CELL_KEYS, *by])
    out["suppressed"] = False
    return out


def waves_of(
    codebook: Codebook, exposures: pd.DataFrame, waves: dict[str, Iterable[str]] | None
) -> dict[str, list[str]]:
    if waves is not None:
        return {i: list(w) for i, w in waves.items()}
    return {i: data_waves(exposures, i) for i in codebook.instruments}


def question_tables(
    codebook: Codebook,
    answers: pd.DataFrame,
    exposures: pd.DataFrame,
    waves: dict[str, Iterable[str]] | None = None,
    facts: Facts | None = None,
) -> dict[str, pd.DataFrame]:
    """Every per-question table, keyed by `question_key`. `waves` (instrument -> waves)
    defaults to the waves present in the exposures; a wave whose form lacks the question
    simply has no rows in that question's table. `facts`: the answers and exposures
    already coded (build_marts codes them once for every mart)."""
    facts = facts if facts is not None else code_facts(answers, exposures)
    cells = skeleton(codebook, waves_of(codebook, facts.exposure_cells, waves))
    frames: dict[tuple[str, str], pd.DataFrame] = {}
    if not cells.empty:
        # One conversion for all, then split: within a question the results order
        # (instrument, wave, question_sort, item, option) is the table's order.
        done = conform(tabulate(cells, facts.count()), QUESTION_SCHEMA, RESULTS_SORT)
        frames = {
            (str(i), str(q)): part.reset_index(drop=True)
            for (i, q), part in done.groupby(["instrument", "question_id"], sort=False)
        }
    out: dict[str, pd.DataFrame] = {}
    blank = empty(QUESTION_SCHEMA)  # typed once: a question without data is common
    for instrument in codebook.instruments:
        for qid in instrument_questions(codebook, instrument):
            part = frames.get((instrument, qid))
            out[question_key(instrument, qid)] = blank.copy() if part is None else part
    return out


def question_results(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """`marts/question_results`: all per-question tables in one."""
    frames = [f for f in tables.values() if len(f)]
    if not frames:
        return empty(QUESTION_SCHEMA)
    return conform(pd.concat(frames, ignore_index=True), QUESTION_SCHEMA, RESULTS_SORT)
