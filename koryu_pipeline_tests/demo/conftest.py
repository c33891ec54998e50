from __future__ import annotations

from pathlib import Path

import pytest

from koryu_pipeline.demo.assembly import write_demo_exports


@pytest.fixture(scope="session")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo exports, generated once into a temporary raw folder."""
    out = tmp_path_factory.mktemp("raw")
    write_demo_exports(out)
    return out
