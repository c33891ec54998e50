"""Run cost, measured in one run on this machine (`make bench`).

Prints the median wall time of: a trivial one-asset Dagster materialisation with the job's
default executor (the floor), the demo's full `koryu run` into an empty warehouse, and an
unchanged re-run; then the ratios against the floor. Targets: full <= 2x floor, unchanged
re-run <= 1.2x floor. The machines are small and noisy, so they are interleaved and repeated.

For context it also prints the same trivial asset under the `in_process` executor that
`koryu run` uses (no step subprocess: what Dagster costs around a run when nothing is
computed) and how many events the full run stored (Dagster writes each to its SQLite event
log with its own connection and commit: the part of a run's cost that grows with the number
of assets and checks, not with the data).
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPEATS = int(os.environ.get("KORYU_BENCH_REPEATS", "3"))
ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from koryu_pipeline.instance import write_instance_yaml

    work = Path(tempfile.mkdtemp(prefix="koryu-bench-"))
    os.environ["DAGSTER_HOME"] = str(work / "dagster_home")
    Path(os.environ["DAGSTER_HOME"]).mkdir()
    write_instance_yaml(Path(os.environ["DAGSTER_HOME"]))  # as `koryu run`'s default home
    os.environ["KORYU_RAW_DIR"] = str(ROOT / "data" / "raw")

    import dagster as dg

    from benchmarks.floor_job import get_floor_job
    from koryu_pipeline.cli import RUN_CONFIG, run_pipeline
    from koryu_pipeline.settings import Settings

    instance = dg.DagsterInstance.get()
    floor_target = dg.reconstructable(get_floor_job)

    def floor() -> None:
        assert dg.execute_job(floor_target, instance=instance).success

    def floor_in_process() -> None:
        assert dg.execute_job(floor_target, instance=instance, run_config=RUN_CONFIG).success

    events: list[int] = []

    def full(n: int) -> None:
        wh = work / f"wh{n}"
        shutil.rmtree(wh, ignore_errors=True)
        os.environ["KORYU_WAREHOUSE_DIR"] = str(wh)
        os.environ.pop("KORYU_SQL_URL", None)
        run_ids = run_pipeline(Settings.from_env())
        events.append(sum(len(instance.all_logs(run_id)) for run_id in run_ids))

    def rerun(n: int) -> None:
        os.environ["KORYU_WAREHOUSE_DIR"] = str(work / f"wh{n}")
        run_pipeline(Settings.from_env())

    def timed(fn, *args) -> float:  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        fn(*args)
        return time.perf_counter() - start

    timed(floor)  # warm the imports and the instance's storage once
    t_floor, t_inproc, t_full, t_rerun = [], [], [], []
    for n in range(REPEATS):
        t_floor.append(timed(floor))
        t_inproc.append(timed(floor_in_process))
        t_full.append(timed(full, n))
        t_rerun.append(timed(rerun, n))

    f, i, a, r = (statistics.median(x) for x in (t_floor, t_inproc, t_full, t_rerun))
    print(f"machine: {os.cpu_count()} cores; {REPEATS} interleaved repeats, medians")
    print(f"floor   (one trivial asset)      {f:6.2f} s   (the job's default executor)")
    print(f"        the same, in process     {i:6.2f} s   (koryu run's executor; context only)")
    print(f"full    koryu run on the demo    {a:6.2f} s   {a / f:4.2f}x floor  (target <= 2.0x)")
    print(f"re-run  unchanged inputs         {r:6.2f} s   {r / f:4.2f}x floor  (target <= 1.2x)")
    print(f"events  stored by the full run   {statistics.median(events):6.0f}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
