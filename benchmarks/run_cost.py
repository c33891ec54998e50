"""Run cost, measured in one run on this machine (`make bench`).

Prints the median wall time of: a trivial one-asset Dagster materialisation (the floor),
the demo's full `koryu run` into an empty warehouse, and an unchanged re-run; then the
ratios against the floor. Targets: full <= 2x floor, unchanged re-run <= 1.2x floor.
The machines are small and noisy, so the three are interleaved and repeated.
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
    work = Path(tempfile.mkdtemp(prefix="koryu-bench-"))
    os.environ["DAGSTER_HOME"] = str(work / "dagster_home")
    Path(os.environ["DAGSTER_HOME"]).mkdir()
    (Path(os.environ["DAGSTER_HOME"]) / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    os.environ["KORYU_RAW_DIR"] = str(ROOT / "data" / "raw")

    import dagster as dg

    from benchmarks.floor_job import get_floor_job
    from koryu_pipeline.cli import run_pipeline
    from koryu_pipeline.settings import Settings

    instance = dg.DagsterInstance.get()
    floor_target = dg.reconstructable(get_floor_job)

    def floor() -> None:
        assert dg.execute_job(floor_target, instance=instance).success

    def full(n: int) -> None:
        wh = work / f"wh{n}"
        shutil.rmtree(wh, ignore_errors=True)
        os.environ["KORYU_WAREHOUSE_DIR"] = str(wh)
        os.environ.pop("KORYU_SQL_URL", None)
        run_pipeline(Settings.from_env())

    def rerun(n: int) -> None:
        os.environ["KORYU_WAREHOUSE_DIR"] = str(work / f"wh{n}")
        run_pipeline(Settings.from_env())

    def timed(fn, *args) -> float:  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        fn(*args)
        return time.perf_counter() - start

    timed(floor)  # warm the imports and the instance's storage once
    t_floor, t_full, t_rerun = [], [], []
    for n in range(REPEATS):
        t_floor.append(timed(floor))
        t_full.append(timed(full, n))
        t_rerun.append(timed(rerun, n))

    f, a, r = (statistics.median(x) for x in (t_floor, t_full, t_rerun))
    print(f"machine: {os.cpu_count()} cores; {REPEATS} interleaved repeats, medians")
    print(f"floor   (one trivial asset)      {f:6.2f} s")
    print(f"full    koryu run on the demo    {a:6.2f} s   {a / f:4.2f}x floor  (target <= 2.0x)")
    print(f"re-run  unchanged inputs         {r:6.2f} s   {r / f:4.2f}x floor  (target <= 1.2x)")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
