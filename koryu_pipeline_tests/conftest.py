from __future__ import annotations

from collections.abc import Iterator

import pytest

from koryu_pipeline_tests.postgres import postgres_cluster


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """host/port/user/db of a throw-away PostgreSQL cluster on a loopback port."""
    with postgres_cluster(tmp_path_factory.mktemp("pg")) as pg:
        yield pg
