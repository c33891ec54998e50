import pandas as pd
import pytest

from koryu_pipeline.codebook import Codebook, get_codebook
from koryu_pipeline.marts.questions import question_tables
from koryu_pipeline_tests.marts_fixtures import SMALL_MINISTRY, make_facts


@pytest.fixture(scope="session")
def codebook() -> Codebook:
    return get_codebook()


@pytest.fixture(scope="session")
def small_facts(codebook: Codebook) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return make_facts(codebook, "ministry", "2023", SMALL_MINISTRY)


@pytest.fixture(scope="session")
def small_tables(codebook, small_facts) -> dict[str, pd.DataFrame]:
    _, answers, exposures = small_facts
    return question_tables(codebook, answers, exposures)


def cell(table: pd.DataFrame, option_code: int, item_id: str | None = None) -> pd.Series:
    """The one row of `table` for an option (and item)."""
    sel = table["option_code"] == option_code
    sel &= table["item_id"].isna() if item_id is None else table["item_id"] == item_id
    rows = table.loc[sel]
    assert len(rows) == 1, rows
    return rows.iloc[0]
