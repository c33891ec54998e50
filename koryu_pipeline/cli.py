"""`koryu` — run the pipeline through Dagster, tell where things stand, write the demo exports.

koryu run              materialise what changed, for every wave found under KORYU_RAW_DIR
koryu run --dry-run    say what would run and why, and run nothing
koryu status           per wave: files, accepted, set aside, last run, up to date or what changed
koryu demo-data        (re)write the calibrated demo exports under KORYU_RAW_DIR
koryu docs             rewrite docs/warehouse.md's table reference from the table registry
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from koryu_pipeline.codebook import CodebookError, get_codebook
from koryu_pipeline.faults import (
    Cause,
    Fault,
    WarehouseLock,
    check_dagster_home,
    explain,
    root_cause,
)
from koryu_pipeline.ingest.readers import discover, misnamed_waves, set_aside_line
from koryu_pipeline.settings import Settings, SettingsError
from koryu_pipeline.status import file_counts, plan_lines, status_lines, summary_lines

if TYPE_CHECKING:
    import dagster as dg

    from koryu_pipeline.defs.plan import RunPlan


class RunFailed(RuntimeError):
    pass


def _ensure_dagster_home() -> Path:
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        home = str(Path(".dagster").resolve())
        os.environ["DAGSTER_HOME"] = home  # the runs show in `make ui`
    check_dagster_home(Path(home))
    Path(home).mkdir(parents=True, exist_ok=True)
    if home == str(Path(".dagster").resolve()):
        # our own default home only: a deployment's dagster.yaml is never touched
        from koryu_pipeline.instance import write_instance_yaml

        write_instance_yaml(Path(home))
    return Path(home)


# in-process execution; Dagster's console shows errors only: the command prints its own
# progress lines (defs/progress.py) and summary, and the event log keeps everything for the UI
RUN_CONFIG = {
    "execution": {"config": {"in_process": {}}},
    "loggers": {"console": {"config": {"log_level": "ERROR"}}},
}


def _instance() -> dg.DagsterInstance:
    import dagster as dg

    _ensure_dagster_home()
    try:
        return dg.DagsterInstance.get()
    except Exception as exc:  # a dagster.yaml that names a store it cannot open, ...
        cause = root_cause(exc)
        raise Fault(
            f"Dagster cannot start from {os.environ['DAGSTER_HOME']}/dagster.yaml: "
            f"{cause.line()} -- fix: correct that file (or start the storage it names), or "
            "move it aside"
        ) from None


def make_plan(instance: dg.DagsterInstance, settings: Settings, force: bool = False) -> RunPlan:
    from koryu_pipeline.defs.plan import plan_run

    return plan_run(instance, settings.raw, settings.warehouse, settings.sql, force=force)


def run_pipeline(
    settings: Settings,
    force: bool = False,
    on_plan: Callable[[RunPlan], None] | None = None,
) -> list[str]:
    """Materialise, through Dagster, what the inputs of the waves under the raw folder
    require: each changed wave's facts, then (with the last changed wave) the cross-wave
    marts and the SQL copy. Unchanged inputs launch no run. `on_plan` sees the plan first.
    Returns the run ids. Raises RunFailed with the failing steps' errors.

    The runs use Dagster's in_process executor: the graph is two steps that run one after
    the other, and a step subprocess would cost a full import of the stack for no
    isolation this command needs. Runs launched from the UI or the daemon keep the default
    multiprocess executor."""
    import dagster as dg

    # the partitions are the raw folder's waves, read as the definitions load (after this)
    from koryu_pipeline.definitions import defs, get_koryu_job

    _require_exports(settings)
    instance = _instance()
    try:
        plan = make_plan(instance, settings, force)
        if on_plan is not None:
            on_plan(plan)
        job = dg.reconstructable(get_koryu_job)
        run_ids: list[str] = []
        for wave, selection in plan.batches(defs().resolve_asset_graph()):
            tags = {"koryu/trigger": "koryu run"}
            if wave is not None:
                tags["dagster/partition"] = wave
            result = dg.execute_job(
                job, instance=instance, tags=tags, asset_selection=selection, run_config=RUN_CONFIG
            )
            run_ids.append(result.run_id)
            if not result.success:
                failures = [
                    (e.step_key, root_cause(e.event_specific_data.error))
                    for e in result.all_events
                    if e.is_step_failure and e.event_specific_data and e.event_specific_data.error
                ]
                where = f"Dagster run {result.run_id[:8]} (wave {wave or 'all'})"
                step, cause = failures[0] if failures else ("", Cause("RunFailure", ""))
                raise RunFailed(explain(cause, f"{where}, step {step}" if step else where))
    finally:
        instance.dispose()  # closes the event log's kept connections (koryu_pipeline/instance.py)
    return run_ids


def _require_exports(settings: Settings) -> None:
    if not discover(settings.raw):
        raise RunFailed(
            f"no exports found: expected <raw>/<instrument>/<wave>/*.xlsx|*.csv under "
            f"{settings.raw} (set KORYU_RAW_DIR, or run `koryu demo-data`)"
        )


def _print(lines: list[str]) -> None:
    for line in lines:
        print(line, flush=True)


@contextmanager
def _progress_to_stdout() -> Iterator[None]:
    """Print the steps' progress lines as they come (the runs execute in this process)."""
    from koryu_pipeline.defs.progress import PROGRESS

    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("  %(message)s"))
    level, propagate = PROGRESS.level, PROGRESS.propagate
    PROGRESS.addHandler(handler)
    PROGRESS.setLevel(logging.INFO)
    PROGRESS.propagate = False
    try:
        yield
    finally:
        PROGRESS.removeHandler(handler)
        PROGRESS.setLevel(level)
        PROGRESS.propagate = propagate


def _print_misnamed(settings: Settings) -> None:
    """Wave folders not named for a year are set aside whole: say so, with the fix."""
    for folder, files in misnamed_waves(settings.raw).items():
        print(f"set aside: {set_aside_line(folder, files)}")


def _announce(plan: RunPlan) -> None:
    if not plan.up_to_date:
        _print(plan_lines(plan))


def cmd_run(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env()
        get_codebook()  # a broken form file is named here, before Dagster loads anything
        if args.dry_run:
            _require_exports(settings)
            _print(plan_lines(make_plan(_instance(), settings, args.force)))
            print("(--dry-run: nothing was run)")
            return 0
        with WarehouseLock(settings.warehouse), _progress_to_stdout():
            run_ids = run_pipeline(settings, force=args.force, on_plan=_announce)
    except (RunFailed, CodebookError, SettingsError, Fault) as exc:
        print(f"koryu run: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # anything else still ends with one line that says what
        print(f"koryu run: {explain(root_cause(exc))}", file=sys.stderr)
        return 1
    _print(summary_lines(file_counts(settings.warehouse)))
    _print_misnamed(settings)
    runs = ", ".join(r[:8] for r in run_ids) if run_ids else "none: everything up to date"
    print(f"warehouse: {settings.warehouse}  runs: {runs}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env()
        get_codebook()
        plan = make_plan(_instance(), settings)
    except (CodebookError, SettingsError, Fault) as exc:
        print(f"koryu status: {exc}", file=sys.stderr)
        return 1
    counts = file_counts(settings.warehouse)
    _print(status_lines(plan, counts, settings.raw, settings.warehouse))
    _print_misnamed(settings)
    return 0


def cmd_demo_data(args: argparse.Namespace) -> int:
    from koryu_pipeline.demo.assembly import write_demo_exports

    raw = Path(args.raw_dir) if args.raw_dir else Settings.from_env().raw
    for path in write_demo_exports(raw):
        print(path)
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from koryu_pipeline.warehouse.docs import update_doc
    from koryu_pipeline.warehouse.tables import table_registry

    path = Path(args.path)
    changed = update_doc(path, table_registry(get_codebook()))
    print(f"{path}: table reference {'rewritten' if changed else 'already current'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="koryu", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="materialise what changed, for every wave")
    run.add_argument(
        "--force", action="store_true", help="rerun every wave and the marts even if unchanged"
    )
    run.add_argument(
        "--dry-run", action="store_true", help="say what would run and why; run nothing"
    )
    run.set_defaults(func=cmd_run)
    status = sub.add_parser("status", help="per wave: files, accepted, set aside, last run")
    status.set_defaults(func=cmd_status)
    demo = sub.add_parser("demo-data", help="write the calibrated demo exports")
    demo.add_argument("--raw-dir", help="target folder (default: KORYU_RAW_DIR or data/raw)")
    demo.set_defaults(func=cmd_demo_data)
    docs = sub.add_parser("docs", help="rewrite the table reference in docs/warehouse.md")
    docs.add_argument("--path", default="docs/warehouse.md", help="the contract to update")
    docs.set_defaults(func=cmd_docs)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
