"""Every setting, its environment variable and its default, written once.

`Settings` is both what the CLI reads (`Settings.from_env()`, plain values) and the Dagster
resource the assets, schedule and sensor receive (`Settings.resource_from_env()`, where a
variable that is set becomes a `dg.EnvVar`, read at launch and kept out of the UI's config).
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

# field -> (environment variable, default); the README's "Where things live" table
ENV = {
    "raw_dir": ("KORYU_RAW_DIR", "data/raw"),
    "warehouse_dir": ("KORYU_WAREHOUSE_DIR", "data/warehouse"),
    "sql_url": ("KORYU_SQL_URL", ""),  # empty: sqlite:///<warehouse>/koryu.sqlite
    "suppress_below": ("KORYU_SUPPRESS_BELOW", "5"),
}


class SettingsError(ValueError):
    """A setting that cannot be used; the message names the variable and the fix."""


class Settings(dg.ConfigurableResource):
    """Where the raw exports are read from, where the warehouse and its SQL copy are
    written, and the small-cell suppression threshold."""

    raw_dir: str = ENV["raw_dir"][1]
    warehouse_dir: str = ENV["warehouse_dir"][1]
    sql_url: str = ENV["sql_url"][1]
    suppress_below: int = int(ENV["suppress_below"][1])

    @property
    def raw(self) -> Path:
        return Path(self.raw_dir)

    @property
    def warehouse(self) -> Path:
        return Path(self.warehouse_dir)

    @property
    def sql(self) -> str:
        return self.sql_url or default_sql_url(self.warehouse)

    @classmethod
    def from_env(cls) -> Settings:
        """Plain values from the environment (unset or empty -> the default), validated."""
        values = {name: os.environ.get(var) or default for name, (var, default) in ENV.items()}
        return cls(**{**values, "suppress_below": _threshold(values["suppress_below"])})

    @classmethod
    def resource_from_env(cls) -> Settings:
        """The Dagster resource: each variable that is set is read at launch (dg.EnvVar)."""
        cls.from_env()  # validate now, so a bad value is named when the code location loads
        values: dict[str, object] = {}
        for name, (var, _) in ENV.items():
            if os.environ.get(var):
                values[name] = dg.EnvVar.int(var) if name == "suppress_below" else dg.EnvVar(var)
        return cls(**values)


def _threshold(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise SettingsError(
            f"KORYU_SUPPRESS_BELOW={text!r}: must be a whole number of at least 1 "
            "(cells with a base below it are withheld); unset it to use 5"
        )
    return value


def default_sql_url(warehouse: Path) -> str:
    return f"sqlite:///{warehouse.resolve() / 'koryu.sqlite'}"
