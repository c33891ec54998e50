"""`koryu` — run the pipeline through Dagster, or write the demo exports.

koryu run          materialise every asset for every wave found under KORYU_RAW_DIR
koryu demo-data    (re)write the calibrated demo exports under KORYU_RAW_DIR
koryu docs         rewrite docs/warehouse.md's table reference from the table registry
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd

from koryu_pipeline.codebook import CodebookError, get_codebook
from koryu_pipeline.faults import (
    Cause,
    Fault,
    WarehouseLock,
    check_dagster_home,
    explain,
    root_cause,
)
from koryu_pipeline.ingest.readers import discover
from koryu_pipeline.settings import Settings, SettingsError
from koryu_pipeline.warehouse.parquet import read_partitions
from koryu_pipeline.warehouse.tables import FILES, FILES_SCHEMA, REJECTIONS, REJECTIONS_SCHEMA


class RunFailed(RuntimeError):
    pass


def _ensure_dagster_home() -> Path:
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        home = str(Path(".dagster").resolve())
        os.environ["DAGSTER_HOME"] = home  # the runs show in `make ui`
    check_dagster_home(Path(home))
    Path(home).mkdir(parents=True, exist_ok=True)
    config = Path(home) / "dagster.yaml"
    if home == str(Path(".dagster").resolve()) and not config.exists():
        # our own default home only: a deployment's dagster.yaml is never touched
        config.write_text("telemetry:\n  enabled: false\n")
    return Path(home)


# in-process execution; the console shows INFO and up (per-file counts, rejections by rule),
# while the event log keeps everything for the UI
RUN_CONFIG = {
    "execution": {"config": {"in_process": {}}},
    "loggers": {"console": {"config": {"log_level": "INFO"}}},
}


def run_pipeline(settings: Settings, force: bool = False) -> list[str]:
    """Register the waves found under the raw folder as partitions and materialise, through
    Dagster, what their inputs require: each changed wave's facts, then (with the last
    changed wave) the cross-wave marts and the SQL copy. Unchanged inputs launch no run.
    Returns the run ids. Raises RunFailed with the failing steps' errors.

    The runs use Dagster's in_process executor: the graph is two steps that run one after
    the other, and a step subprocess would cost a full import of the stack for no
    isolation this command needs. Runs launched from the UI or the daemon keep the default
    multiprocess executor."""
    import dagster as dg

    from koryu_pipeline.definitions import defs, get_koryu_job
    from koryu_pipeline.defs.partitions import WAVES
    from koryu_pipeline.defs.plan import plan_run

    waves = list(discover(settings.raw))
    if not waves:
        raise RunFailed(
            f"no exports found: expected <raw>/<instrument>/<wave>/*.xlsx|*.csv under "
            f"{settings.raw} (set KORYU_RAW_DIR, or run `koryu demo-data`)"
        )
    _ensure_dagster_home()
    try:
        instance = dg.DagsterInstance.get()
    except Exception as exc:  # a dagster.yaml that names a store it cannot open, ...
        cause = root_cause(exc)
        home = os.environ["DAGSTER_HOME"]
        raise Fault(
            f"Dagster cannot start from {home}/dagster.yaml: {cause.line()} -- fix: correct "
            "that file (or start the storage it names), or move it aside"
        ) from None
    _register_waves(instance, WAVES.name, waves)

    plan = plan_run(instance, settings.raw, settings.warehouse, settings.sql, force=force)
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
    return run_ids


def _register_waves(instance, name: str, waves: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Add the raw folder's waves as partitions and drop the ones whose folder is gone (the
    UI then offers only what exists). Another process adding the same wave at the same
    moment is not an error."""
    known = set(instance.get_dynamic_partitions(name))
    new = [w for w in waves if w not in known]
    if new:
        try:
            instance.add_dynamic_partitions(name, new)
        except Exception:
            if not set(new) <= set(instance.get_dynamic_partitions(name)):
                raise
    for gone in sorted(known - set(waves)):
        instance.delete_dynamic_partition(name, gone)


def file_summary(settings: Settings) -> pd.DataFrame:
    return read_partitions(settings.warehouse, FILES, FILES_SCHEMA)


def _print_summary(settings: Settings) -> None:
    files = file_summary(settings)
    if files.empty:
        print("no export files were read")
        return
    width = max(len(s) for s in files["source_file"])
    print(f"{'file'.ljust(width)}  {'rows':>5}  {'accepted':>8}  {'rejected':>8}")
    for r in files.itertuples(index=False):
        mark = "  (file rejected)" if r.file_rejected else ""
        print(f"{r.source_file.ljust(width)}  {r.rows:>5}  {r.accepted:>8}  {r.rejected:>8}{mark}")
    totals = files.groupby(["instrument", "wave"])[["rows", "accepted", "rejected"]].sum()
    for (inst, wave), t in totals.iterrows():
        print(f"{inst}/{wave}: {t['accepted']} accepted, {t['rejected']} rejected of {t['rows']}")


def _print_set_aside(settings: Settings) -> None:
    """Files rejected whole, each with what to do about it (the rejection's message)."""
    rejections = read_partitions(settings.warehouse, REJECTIONS, REJECTIONS_SCHEMA)
    whole = rejections.loc[rejections["source_row"].isna()]
    if len(whole):
        print("set aside (whole files):")
        for r in whole.itertuples(index=False):
            print(f"  {r.message}")


def cmd_run(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env()
        get_codebook()  # a broken form file is named here, before Dagster loads anything
        with WarehouseLock(settings.warehouse):
            run_ids = run_pipeline(settings, force=args.force)
    except (RunFailed, CodebookError, SettingsError, Fault) as exc:
        print(f"koryu run: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # anything else still ends with one line that says what
        print(f"koryu run: {explain(root_cause(exc))}", file=sys.stderr)
        return 1
    _print_summary(settings)
    _print_set_aside(settings)
    runs = ", ".join(r[:8] for r in run_ids) if run_ids else "none: everything up to date"
    print(f"warehouse: {settings.warehouse}  runs: {runs}")
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
    run.set_defaults(func=cmd_run)
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
