"""Breakdowns by respondent attribute and small-cell suppression."""

import pandas as pd
import pytest

from koryu_pipeline.marts.breakdowns import breakdown_tables
from koryu_pipeline.marts.suppress import suppress
from koryu_pipeline.warehouse.tables import BREAKDOWN_SCHEMA, breakdown_attributes
from koryu_pipeline_tests.marts_fixtures import calibrated_facts


@pytest.fixture(scope="module")
def calibrated(codebook) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return calibrated_facts(codebook)


def test_attributes_exclude_routing_questions(codebook) -> None:
    assert breakdown_attributes(codebook, "ministry") == ["org_type"]
    assert breakdown_attributes(codebook, "hires") == ["host_org_type", "age_band", "industry"]


def test_breakdown_total_and_suppression(codebook, small_facts, small_tables) -> None:
    respondents, answers, exposures = small_facts
    tables = breakdown_tables(codebook, respondents, answers, exposures, suppress_below=3)
    assert set(tables) == {
        "marts/breakdowns/ministry/org_type",
        "marts/breakdowns/hires/host_org_type",
        "marts/breakdowns/hires/age_band",
        "marts/breakdowns/hires/industry",
    }
    frame = tables["marts/breakdowns/ministry/org_type"]
    assert list(frame.columns) == BREAKDOWN_SCHEMA.names
    q07 = frame.loc[frame["question_id"] == "q07"].set_index(["group_label", "option_code"])
    # the total row first: everyone, as the question's own table counts them
    total = q07.loc["全体"]
    assert total["is_total"].all() and set(q07.loc[q07["is_total"]].index.get_level_values(0))
    assert set(total["group_code"]) == {0} and set(total["group_sort"]) == {0}
    question = small_tables["marts/questions/ministry/q07"]
    assert total["n"].tolist() == question["n"].tolist()
    assert total["base_n"].tolist() == question["base_n"].tolist()
    assert not total["suppressed"].any() and total["suppression"].isna().all()
    assert frame.groupby(["question_id", "item_id"], dropna=False)["is_total"].first().all()
    # 行政執行法人: R2, R5 -> base 2 < 3, withheld (primary)
    agencies = q07.loc["行政執行法人"]
    assert agencies["suppressed"].all() and set(agencies["suppression"]) == {"primary"}
    assert agencies["base_n"].tolist() == [2, 2, 2]  # the base stays: it says why
    for col in ("n", "pct", "ci_low", "ci_high", "pct_of_responses"):
        assert agencies[col].isna().all(), col
    # 府省: R1, R3, R4 -> base 3, enough; but total - 府省 would give 行政執行法人 back, so it
    # is withheld too (secondary)
    ministries = q07.loc["府省"]
    assert ministries["suppressed"].all() and set(ministries["suppression"]) == {"secondary"}
    assert ministries["n"].isna().all() and ministries["base_n"].tolist() == [3, 3, 3]
    # likert summaries and their intervals are withheld too
    q01 = frame.loc[(frame["question_id"] == "q01") & (frame["group_label"] == "行政執行法人")]
    assert q01["suppressed"].all() and q01["positive_pct"].isna().all()
    assert q01["positive_ci_low"].isna().all() and q01["negative_ci_high"].isna().all()
    q01_m = frame.loc[(frame["question_id"] == "q01") & (frame["group_label"] == "府省")]
    # 府省 dispatchers are R1 and R4 only: base 2 -> suppressed as well
    assert q01_m["suppressed"].all()


def test_unsuppressed_breakdown_adds_up_to_the_question(codebook, small_facts, small_tables):
    respondents, answers, exposures = small_facts
    frame = breakdown_tables(codebook, respondents, answers, exposures, suppress_below=0)[
        "marts/breakdowns/ministry/org_type"
    ]
    frame = frame.assign(item_id=frame["item_id"].fillna(""))
    keys = ["question_id", "item_id", "option_code"]
    summed = frame.loc[~frame["is_total"]].groupby(keys)[["n", "base_n", "shown_n"]].sum()
    totals = frame.loc[frame["is_total"]].set_index(keys)
    for key, table in small_tables.items():
        if not key.startswith("marts/questions/ministry/"):
            continue
        for row in table.itertuples():
            item = row.item_id if isinstance(row.item_id, str) else ""
            want = (row.n, row.base_n, row.shown_n)
            got = summed.loc[(row.question_id, item, row.option_code)]
            assert (got["n"], got["base_n"], got["shown_n"]) == want  # everyone has org_type
            tot = totals.loc[(row.question_id, item, row.option_code)]
            assert (tot["n"], tot["base_n"], tot["shown_n"]) == want


CELL = ["wave", "question_id", "item_id"]


def recover(published: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """An attacker's try at every withheld count: the total minus the published groups is
    what the withheld groups (and anyone without the attribute) chose together, and each
    withheld group's count lies between that sum less everyone else's bases and its own
    base. Returns, per withheld row, the bounds and the true count."""
    keys = [*CELL, "option_code"]
    pub = published.assign(item_id=published["item_id"].fillna(""))
    pub = pub.astype({"n": "float64", "base_n": "int64"})
    groups = pub.loc[~pub["is_total"].astype(bool)]
    hidden = groups.loc[groups["suppressed"].astype(bool)]
    cells = pub.loc[pub["is_total"].astype(bool), [*keys, "n", "base_n"]].set_index(keys)
    published_groups = groups.loc[~groups["suppressed"].astype(bool)].groupby(keys)
    cells["shown"] = published_groups["n"].sum()
    cells["shown_base"] = published_groups["base_n"].sum()
    cells["grouped"] = groups.groupby(keys)["base_n"].sum()
    cells["hidden"] = hidden.groupby(keys)["base_n"].sum()
    cells = cells.fillna({"shown": 0, "shown_base": 0, "hidden": 0})
    cells["together"] = cells["n"] - cells["shown"]  # withheld groups + no attribute
    cells["bases"] = cells["hidden"] + cells["base_n"] - cells["grouped"]
    tried = hidden.loc[hidden["base_n"] > 0, [*keys, "group_code", "base_n"]]  # nobody is 0
    tried = tried.join(cells[["together", "bases", "shown_base"]], on=keys)
    true = truth.assign(item_id=truth["item_id"].fillna(""))[[*keys, "group_code", "n"]]
    tried = tried.merge(true.rename(columns={"n": "true"}), on=[*keys, "group_code"])
    others = tried["bases"] - tried["base_n"]
    return pd.DataFrame(
        {
            "low": (tried["together"] - others).clip(lower=0),
            "high": tried[["base_n", "together"]].min(axis=1),
            "true": tried["true"].astype("int64"),
            "zero_or_all": (tried["together"] == 0) | (tried["together"] == tried["bases"]),
            # the one group with answers: its figures are the total's (the question table's)
            "everyone": (others == 0) & (tried["shown_base"] == 0),
        }
    )


def test_suppressed_counts_cannot_be_recovered_by_differencing(
    codebook, calibrated, small_facts
) -> None:
    respondents, answers, exposures = calibrated
    withheld = 0
    truth = breakdown_tables(codebook, respondents, answers, exposures, 0)
    for below in (5, 20, 40):
        published = breakdown_tables(codebook, respondents, answers, exposures, below)
        for key, frame in published.items():
            tries = recover(frame, truth[key])
            if tries.empty:
                continue
            withheld += len(tries)
            assert ((tries["low"] <= tries["true"]) & (tries["true"] <= tries["high"])).all()
            # a withheld count is pinned down only where the published figures already say
            # nobody (or everybody) in the withheld groups chose the option, or where the
            # group is everyone who answered (the total, published in the question table)
            pinned = tries.loc[tries["low"] == tries["high"]]
            assert (pinned["zero_or_all"] | pinned["everyone"]).all(), (key, below, pinned)
            assert (tries["high"] > tries["low"]).any(), (key, below)
    assert withheld > 100
    small = breakdown_tables(codebook, *small_facts, suppress_below=3)
    small_truth = breakdown_tables(codebook, *small_facts, suppress_below=0)
    key = "marts/breakdowns/ministry/org_type"
    tries = recover(small[key], small_truth[key])
    pinned = tries.loc[tries["low"] == tries["high"]]
    assert (pinned["zero_or_all"] | pinned["everyone"]).all(), pinned
    assert (tries["high"] > tries["low"]).any()


def test_without_secondary_suppression_differencing_recovers_the_count(
    codebook, calibrated
) -> None:
    """What the secondary rule prevents: with primary suppression alone, total minus the
    other groups gives a withheld group's counts back exactly."""
    respondents, answers, exposures = calibrated
    truth = breakdown_tables(codebook, respondents, answers, exposures, 0)
    key = "marts/breakdowns/ministry/org_type"
    primary_only = suppress(truth[key].assign(_item=truth[key]["item_id"].fillna("")), 20)
    tries = recover(primary_only, truth[key])
    exact = tries.loc[(tries["low"] == tries["high"]) & ~tries["zero_or_all"] & ~tries["everyone"]]
    assert len(exact) > 0 and (exact["low"] == exact["true"]).all()


def test_suppress_marks_and_withholds() -> None:
    frame = pd.DataFrame(
        {"n": [1, 4], "base_n": [2, 10], "pct": [50.0, 40.0], "suppressed": [False, False]}
    )
    out = suppress(frame, below=5)
    assert out["suppressed"].tolist() == [True, False]
    assert out["n"].isna().tolist() == [True, False]
    assert out["pct"].isna().tolist() == [True, False]
    assert out["base_n"].tolist() == [2, 10]
    assert not frame["suppressed"].any()  # input untouched


def test_every_attribute_counts_every_answer(codebook, calibrated) -> None:
    """A respondent is in one group of each attribute: the hires' second and third
    attributes (age_band, industry) count the same answers as the first."""
    respondents, answers, exposures = calibrated
    tables = breakdown_tables(codebook, respondents, answers, exposures, suppress_below=0)
    chosen = answers.loc[answers["instrument"] == "hires"].groupby("question_id").size()
    for attribute in breakdown_attributes(codebook, "hires"):
        frame = tables[f"marts/breakdowns/hires/{attribute}"]
        counted = frame.loc[~frame["is_total"]].groupby("question_id")["n"].sum()
        assert {q: n for q, n in counted.items() if n} == chosen.to_dict(), attribute


def test_secondary_suppression_takes_the_next_smallest_group() -> None:
    def rows(group: int, base: int, total: bool = False) -> dict:
        return {
            "instrument": "hires",
            "wave": 2023,
            "attribute": "industry",
            "question_id": "q",
            "_item": "",
            "group_code": group,
            "group_sort": group,
            "is_total": total,
            "n": 1,
            "base_n": base,
        }

    frame = pd.DataFrame(
        [rows(0, 60, total=True), rows(1, 3), rows(2, 30), rows(3, 12), rows(4, 15), rows(5, 0)]
    )
    cell = ["instrument", "wave", "attribute", "question_id", "_item"]

    def reasons() -> list[str | None]:
        out = suppress(frame, below=5, cell=cell)["suppression"]
        return [r if isinstance(r, str) else None for r in out]

    # 3 is the only withheld group with respondents: the next smallest (12) goes too, not
    # the empty group 5 (a group of nobody hides nothing)
    assert reasons() == [None, "primary", None, "secondary", None, "primary"]
    # two withheld groups with respondents: nothing more to do
    frame.loc[frame["group_code"] == 3, "base_n"] = 4
    assert reasons() == [None, "primary", None, "primary", None, "primary"]
    # no withheld group, but 2 respondents without the attribute (60 - 58): the total less
    # the groups would give them away, so the smallest group goes
    frame["base_n"] = [60, 10, 30, 8, 10, 0]
    assert reasons() == [None, None, None, "secondary", None, "primary"]
    # ... unless they are many enough to be published themselves
    frame["base_n"] = [60, 10, 20, 8, 10, 0]
    assert reasons() == [None, None, None, None, None, "primary"]
