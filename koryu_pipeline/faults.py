"""Faults that stop a run (disk, database, settings, a second run) and how to say them.

Bad data never stops a run: it is quarantined. What does stop one ends with one line that
names the root cause and the fix, whoever reads the console at 02:00. This module finds
that cause (through Dagster's chain of wrapped errors), checks Dagster's home before any
work, and keeps two runs from writing one warehouse at once.
"""

from __future__ import annotations

import errno
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

import yaml

LOCK_FILE = ".koryu.lock"


class Fault(RuntimeError):
    """A run cannot go on; str() is the one line a person needs (cause, then the fix)."""


@dataclass(frozen=True)
class Cause:
    kind: str  # the exception's class name
    message: str

    def line(self) -> str:
        text = self.message.strip().splitlines()[0] if self.message.strip() else ""
        return f"{self.kind}: {text}" if text else self.kind


# (words in the cause, the fix): the first match wins; lower-case substrings
_FIXES = (
    (
        ("no space left", "enospc", "disk quota"),
        "free disk space under KORYU_WAREHOUSE_DIR (or point it to a larger disk)",
    ),
    (
        ("read-only file system", "permission denied", "permissionerror", "eacces", "erofs"),
        "make KORYU_WAREHOUSE_DIR writable by this user (or point it to a writable folder)",
    ),
    (
        (
            "connection refused",
            "could not connect",
            "could not translate host",
            "operationalerror",
            "unable to open database",
            "password authentication failed",
        ),
        "check KORYU_SQL_URL and that its database server is up and reachable",
    ),
    (("codebookerror", "no form for"), "add or fix the form file the message names"),
    (("settingserror",), "fix the variable the message names"),
)


def fix_for(cause: Cause) -> str:
    text = f"{cause.kind} {cause.message}".lower()
    for words, fix in _FIXES:
        if any(w in text for w in words):
            return fix
    return "see the run's full log with `make ui` (Runs), then run `koryu run` again"


def root_cause(error: object) -> Cause:
    """The innermost cause of a Dagster SerializableErrorInfo (or an exception)."""
    if isinstance(error, BaseException):
        while error.__cause__ is not None or error.__context__ is not None:
            error = error.__cause__ or error.__context__
        return Cause(type(error).__name__, str(error))
    while getattr(error, "cause", None) is not None:
        error = error.cause  # type: ignore[attr-defined]
    kind = getattr(error, "cls_name", None) or "Error"
    message = str(getattr(error, "message", "")).strip()
    # Dagster prefixes the class name ("ValueError: ...") on the message it keeps
    message = message.removeprefix(f"{kind}: ")
    return Cause(kind, message)


def explain(cause: Cause, where: str = "") -> str:
    place = f" in {where}" if where else ""
    return f"failed{place}: {cause.line()} -- fix: {fix_for(cause)}"


def check_dagster_home(home: Path) -> None:
    """DAGSTER_HOME must be an absolute folder whose dagster.yaml (if any) reads."""
    if not home.is_absolute():
        raise Fault(
            f"DAGSTER_HOME={home}: must be an absolute path -- fix: "
            f"export DAGSTER_HOME={Path.cwd() / home}"
        )
    if home.exists() and not home.is_dir():
        raise Fault(f"DAGSTER_HOME={home} is a file -- fix: point DAGSTER_HOME to a folder")
    config = home / "dagster.yaml"
    if config.exists():
        try:
            data = yaml.safe_load(config.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            first = str(exc).strip().splitlines()[0]
            raise Fault(
                f"{config} cannot be read ({first}) -- fix: correct it, or move it aside to "
                "use Dagster's defaults"
            ) from None
        if data is not None and not isinstance(data, dict):
            raise Fault(f"{config} is not a YAML mapping -- fix: correct it or move it aside")


class WarehouseLock:
    """An exclusive lock on <warehouse>/.koryu.lock for the length of a run: a second
    `koryu run` on the same warehouse is refused at once, with who holds it. The kernel
    drops the lock when the holder dies, so a killed run never leaves it behind."""

    def __init__(self, warehouse: Path) -> None:
        self.path = Path(warehouse) / LOCK_FILE
        self._fh: IO[str] | None = None

    def __enter__(self) -> WarehouseLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fh = self.path.open("a+", encoding="utf-8")
        except OSError as exc:
            raise Fault(
                f"cannot create or open the warehouse {self.path.parent} ({exc.strerror}) -- "
                "fix: point KORYU_WAREHOUSE_DIR to a folder this user can write"
            ) from None
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise Fault(
                f"another koryu run is writing {self.path.parent} ({holder}) -- fix: wait for "
                "it to finish (the nightly run takes about a minute), then run again"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        self._fh = fh
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fh is not None:
            self._fh.close()  # closing releases the lock
            self._fh = None
