"""Where things live, from the environment (warehouse.md, "Where things live")."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    raw_dir: Path
    warehouse_dir: Path
    sql_url: str
    suppress_below: int = 5

    @classmethod
    def from_env(cls) -> Settings:
        warehouse = Path(os.environ.get("KORYU_WAREHOUSE_DIR") or "data/warehouse")
        return cls(
            raw_dir=Path(os.environ.get("KORYU_RAW_DIR") or "data/raw"),
            warehouse_dir=warehouse,
            sql_url=os.environ.get("KORYU_SQL_URL") or default_sql_url(warehouse),
            suppress_below=int(os.environ.get("KORYU_SUPPRESS_BELOW") or 5),
        )


def default_sql_url(warehouse: Path) -> str:
    return f"sqlite:///{warehouse.resolve() / 'koryu.sqlite'}"
