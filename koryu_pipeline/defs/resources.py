"""Resources configured from the environment (warehouse.md, "Where things live")."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from koryu_pipeline.settings import Settings, default_sql_url


class KoryuPaths(dg.ConfigurableResource):
    """Where the raw exports are read from and the warehouse is written to."""

    raw_dir: str = "data/raw"
    warehouse_dir: str = "data/warehouse"
    sql_url: str = ""
    suppress_below: int = 5

    @property
    def raw(self) -> Path:
        return Path(self.raw_dir)

    @property
    def warehouse(self) -> Path:
        return Path(self.warehouse_dir)

    @property
    def sql(self) -> str:
        return self.sql_url or default_sql_url(self.warehouse)


def _env(name: str, default: str) -> str | dg.EnvVar:
    # EnvVar keeps the value out of the UI's config and reads it at launch; the default
    # applies when the variable is unset, as the README promises.
    return dg.EnvVar(name) if os.environ.get(name) else default


def paths_from_env() -> KoryuPaths:
    s = Settings.from_env()
    return KoryuPaths(
        raw_dir=_env("KORYU_RAW_DIR", str(s.raw_dir)),
        warehouse_dir=_env("KORYU_WAREHOUSE_DIR", str(s.warehouse_dir)),
        sql_url=_env("KORYU_SQL_URL", ""),
        suppress_below=s.suppress_below,
    )
