"""Progress lines of a step: to the run's log (the UI) and to the Python logger
`koryu.progress`, which `koryu run` prints as they come (its runs execute in its own
process). Without a handler (UI or daemon runs) that logger stays silent."""

from __future__ import annotations

import logging
from collections.abc import Callable

import dagster as dg

PROGRESS = logging.getLogger("koryu.progress")


def progress(context: dg.AssetExecutionContext) -> Callable[[str], None]:
    def say(message: str) -> None:
        context.log.info(message)
        PROGRESS.info(message)

    return say
