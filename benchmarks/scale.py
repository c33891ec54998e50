"""Scale benchmark (`make bench-scale`): `koryu run` on large exports against DuckDB.

For each size, interleaved in one run (and `--repeats` times, medians):
- hires (Google Forms .csv; default 10k, 100k, 1M rows): `koryu run` end to end as its own
  process, with a fresh warehouse and DAGSTER_HOME, against DuckDB tabulating the same CSV
  in one statement (read it, split the checkbox cells, count per option with bases, write
  Parquet), also as its own process;
- ministry (Microsoft Forms .xlsx; default 5k, 50k rows): `koryu run` end to end, and the
  pipeline's reader on the file against a bare python-calamine read of it;
- the 1% append: a full run on a hires export (`--append-rows`, default 100k) plus the
  smallest ministry export, then 1% more rows appended to the hires export and `koryu run`
  again on the same warehouse; the re-run is compared with the full run;
- the floors under those targets: after each hires run and after the append's re-run,
  `koryu run` again with nothing changed (start-up and plan: no Dagster run); then, on that
  run's warehouse, SQLite itself inserting every row of the SQL copy (`sqlite_floor`: no
  driver, no journal) and the pipeline's Parquet writer encoding the published partitioned
  tables once from memory (`parquet_floor`).

Prints wall and CPU seconds, peak RSS (of the child and anything it waited for: `os.wait4`),
the ratios, the growth exponent (log-log slope of koryu's wall time against rows) and each
target of issue 9 as PASS / FAIL. A measurement, not a gate: exits 0 whatever it finds.
Sizes whose linear extrapolation from the sizes before exceeds the time or memory budget are
skipped (and said so), and a run past either budget is stopped.

    python benchmarks/scale.py [--sizes 10k 100k 1M] [--ministry-sizes 5k 50k] [--skip-1m]
                               [--repeats N] [--append-rows 100k] [--no-append]
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import scale_exports as gen  # noqa: E402
from koryu_pipeline.instance import write_instance_yaml  # noqa: E402

GIB = 1024**3
TARGET_RATIO_DUCKDB = 10.0  # 1M hires: koryu run <= 10x DuckDB
TARGET_RSS_GIB = 2.0  # 1M hires: peak RSS <= 2 GiB
TARGET_RATIO_CALAMINE = 3.0  # 50k ministry: reading <= 3x a bare calamine read
TARGET_APPEND_SHARE = 0.25  # 1% appended: re-run <= 25% of the full run
TARGET_ROWS = {"hires": 1_000_000, "ministry": 50_000}


@dataclass
class Measure:
    wall: float  # seconds
    cpu: float  # user + system seconds of the child and what it waited for
    rss: int  # peak resident bytes, the same
    rc: int
    summary: dict[str, tuple[int, int]] = field(default_factory=dict)  # inst -> (acc, rows)
    stopped: str = ""  # why the run was stopped (over a budget), if it was
    log: Path | None = None


# ---------------------------------------------------------------------------- processes


def _rss_now(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def run_measured(
    cmd: list[str], env: dict[str, str], log: Path, time_limit: float, rss_limit: float
) -> Measure:
    """Run `cmd` as its own process; wall time, and CPU and peak RSS from `os.wait4` (this
    child's own figures: RUSAGE_CHILDREN's max would be a high-water mark across every child
    this process ever had). The process group is stopped past either limit, so one size too
    many cannot take the machine down."""
    stopped: list[str] = []
    with log.open("wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=log.parent,
        )
        done = threading.Event()

        def watch() -> None:
            while not done.wait(0.5):
                why = ""
                if time.perf_counter() - start > time_limit:
                    why = f"stopped after {time_limit:.0f} s (over the time budget)"
                elif _rss_now(proc.pid) > rss_limit:
                    why = f"stopped at {rss_limit / GIB:.1f} GiB RSS (over the memory budget)"
                if why:
                    stopped.append(why)
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    return

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        done.set()
        watcher.join()
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    text = log.read_text(errors="replace")
    summary = {
        m["inst"]: (int(m["acc"]), int(m["rows"]))
        for m in re.finditer(
            # "hires/2023: 1000 accepted, [20 counted once (...), ]0 rejected[ (...)] of 1000 rows"
            r"^(?P<inst>\w+)/\S+: (?P<acc>\d+) accepted, .* of (?P<rows>\d+) rows$",
            text,
            re.M,
        )
    }
    return Measure(
        wall,
        usage.ru_utime + usage.ru_stime,
        usage.ru_maxrss * 1024,  # KiB on Linux
        proc.returncode,
        summary,
        stopped[0] if stopped else "",
        log,
    )


def _fresh_home(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    write_instance_yaml(path)  # as `koryu run`'s default home
    return path


def _place(src: Path, raw: Path, instrument: str, *, copy: bool = False) -> Path:
    """Put a cached export into a raw folder's <instrument>/<wave>/ (a hard link: no copy
    of a 200 MB file per run, unless it is to be changed)."""
    dst = raw / instrument / gen.WAVE / src.name
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():
        dst.unlink()
    if copy:
        shutil.copyfile(src, dst)
    else:
        try:
            os.link(src, dst)
        except OSError:  # another filesystem
            shutil.copyfile(src, dst)
    return dst


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.n = 0

    def koryu(self, raw: Path, warehouse: Path, home: Path, label: str) -> Measure:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KORYU_", "DAGSTER_"))}
        env |= {
            "KORYU_RAW_DIR": str(raw),
            "KORYU_WAREHOUSE_DIR": str(warehouse),
            "DAGSTER_HOME": str(home),
            "PYTHONPATH": str(ROOT),
        }
        self.n += 1
        log = self.work / f"{self.n:02d}-{label}.log"
        cmd = [sys.executable, "-m", "koryu_pipeline.cli", "run"]
        m = run_measured(cmd, env, log, self.args.time_budget * 1.5, self.args.rss_budget * GIB)
        if m.rc != 0 and not m.stopped:
            tail = "\n    ".join(log.read_text(errors="replace").splitlines()[-5:])
            print(f"  ! koryu run failed (exit {m.rc}); {log}:\n    {tail}", flush=True)
        return m

    def koryu_fresh(self, instrument: str, path: Path) -> Measure:
        case = self.work / f"{instrument}-{path.stem}"
        raw = case / "raw"
        shutil.rmtree(raw, ignore_errors=True)
        _place(path, raw, instrument)
        shutil.rmtree(case / "warehouse", ignore_errors=True)
        return self.koryu(raw, case / "warehouse", _fresh_home(case / "home"), path.stem)

    def floors(self, instrument: str, path: Path) -> Floors:
        """The floors under the last `koryu_fresh` run of `path`: the same command again with
        nothing changed, then on its warehouse SQLite inserting the SQL copy by itself and
        the facts encoded once."""
        case = self.work / f"{instrument}-{path.stem}"
        idle = self.koryu(case / "raw", case / "warehouse", case / "home", f"{path.stem}-idle")
        rows, took = sqlite_floor(case / "warehouse" / "koryu.sqlite")
        p_rows, p_took = parquet_floor(case / "warehouse")
        return Floors(idle, rows, took, p_rows, p_took)

    def duckdb(self, csv_path: Path) -> Measure:
        out = self.work / f"duckdb-{csv_path.stem}.parquet"
        self.n += 1
        log = self.work / f"{self.n:02d}-duckdb-{csv_path.stem}.log"
        cmd = [sys.executable, "-c", DUCKDB_SCRIPT, duckdb_sql(csv_path, out)]
        return run_measured(cmd, dict(os.environ), log, self.args.time_budget, 8 * GIB)


DUCKDB_SCRIPT = "import sys, duckdb; duckdb.sql(sys.argv[1])"


def duckdb_sql(csv_path: Path, out: Path) -> str:
    """The tabulation as one statement: every answer column unpivoted (blank cells drop out),
    checkbox cells split on the Sheet's ", ", counts per option against the column's base."""
    form = gen.hires_form()
    cols = [f.column for f in form.fields]
    multi = ", ".join(f"'{f.column}'" for f in form.fields if f.entry.is_multi)
    names = ", ".join(f"'{c}'" for c in ["submitted", *cols])
    src = str(csv_path).replace("'", "''")
    dst = str(out).replace("'", "''")
    return f"""
COPY (
  WITH cells AS (
    UNPIVOT (SELECT * EXCLUDE (submitted) FROM read_csv('{src}', header = true,
             all_varchar = true, names = [{names}]))
    ON COLUMNS(*) INTO NAME question VALUE cell
  ),
  bases AS (SELECT question, count(*) AS base FROM cells GROUP BY question),
  picks AS (
    SELECT question,
           unnest(CASE WHEN question IN ({multi}) THEN string_split(cell, '{gen.SHEET_SEP}')
                       ELSE [cell] END) AS label
    FROM cells
  )
  SELECT question, label, count(*) AS n, base, count(*) / base AS share
  FROM picks JOIN bases USING (question)
  GROUP BY question, label, base
  ORDER BY question, label
) TO '{dst}' (FORMAT parquet)
"""


# ---------------------------------------------------------------------------- floors


@dataclass
class Floors:
    """What a run cannot go below whatever the data work costs: `idle` is `koryu run` with
    nothing to do (Python, imports, the plan: it launches no Dagster run); `sql_seconds` is
    SQLite alone inserting the `sql_rows` rows that the warehouse contract has the run copy;
    `parquet_seconds` is encoding the `parquet_rows` rows of the published partitioned tables
    (facts, quarantine) once, as the contract has the run write them."""

    idle: Measure
    sql_rows: int
    sql_seconds: float
    parquet_rows: int
    parquet_seconds: float

    @property
    def total(self) -> float:
        return self.idle.wall + self.sql_seconds + self.parquet_seconds


def _floor_medians(floors: list[Floors]) -> tuple[float, float, float, float]:
    """Medians over the repeats: nothing to do, SQLite, Parquet, and their sum."""
    return (
        _med([f.idle.wall for f in floors]),
        _med([f.sql_seconds for f in floors]),
        _med([f.parquet_seconds for f in floors]),
        _med([f.total for f in floors]),
    )


def sqlite_floor(db: Path, keep: Path | None = None) -> tuple[int, float]:
    """Rows in the SQLite database `db`, and the seconds SQLite takes to insert all of them
    into the same tables and indexes of a scratch database from within itself: no driver,
    no Python per row, no rollback journal, no sync. No copy through any driver can be
    faster, so this is the least the run's SQL copy can cost. `db` is left unchanged; the
    scratch database is removed unless `keep` names where it goes."""
    scratch = keep or db.with_name(db.name + ".floor")
    scratch.unlink(missing_ok=True)
    con = sqlite3.connect(scratch, isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode=OFF")
        con.execute("PRAGMA synchronous=OFF")
        con.execute("PRAGMA cache_size=-65536")  # the SQL copy's own connection's (64 MiB)
        con.execute("ATTACH DATABASE ? AS src", (f"file:{db}?mode=ro",))
        schema = con.execute(
            "SELECT type, name, sql FROM src.sqlite_master WHERE sql IS NOT NULL "
            "AND type IN ('table', 'index') ORDER BY type = 'index', rowid"
        ).fetchall()
        for _, _, sql in schema:
            con.execute(sql)  # unqualified: made in the scratch database
        tables = [name for kind, name, _ in schema if kind == "table"]
        rows = sum(con.execute(f'SELECT count(*) FROM src."{t}"').fetchone()[0] for t in tables)
        start = time.perf_counter()
        con.execute("BEGIN")
        for t in tables:
            con.execute(f'INSERT INTO main."{t}" SELECT * FROM src."{t}"')
        con.execute("COMMIT")
        took = time.perf_counter() - start
    finally:
        con.close()
        if keep is None:
            scratch.unlink(missing_ok=True)
    return rows, took


def parquet_floor(warehouse: Path) -> tuple[int, float]:
    """Rows of the published partitioned tables (the facts and the quarantine: staging is the
    pipeline's own) in `warehouse`, and the seconds the pipeline's Parquet writer takes to
    encode each partition once from a table already in memory (reading it is not timed)."""
    import pyarrow.parquet as pq

    from koryu_pipeline.codebook import get_codebook
    from koryu_pipeline.warehouse.parquet import parquet_bytes
    from koryu_pipeline.warehouse.tables import STAGING_TABLES, table_registry

    rows, took = 0, 0.0
    for spec in table_registry(get_codebook()).values():
        if not spec.partitioned or spec.key in STAGING_TABLES:
            continue
        for path in sorted((warehouse / spec.key).glob("instrument=*/wave=*/*.parquet")):
            table = pq.read_table(path, schema=spec.file_schema)
            start = time.perf_counter()
            parquet_bytes(table)
            took += time.perf_counter() - start
            rows += table.num_rows
    return rows, took


# ---------------------------------------------------------------------------- reading .xlsx


def read_pipeline(path: Path) -> tuple[float, int]:
    """The pipeline's own reader on a ministry export (as `koryu run` calls it)."""
    from koryu_pipeline.codebook import get_codebook
    from koryu_pipeline.ingest.readers import read_export

    raw = path.parents[2]
    start = time.perf_counter()
    parsed = read_export(path, raw, get_codebook(), "ministry", gen.WAVE)
    took = time.perf_counter() - start
    return took, 0 if parsed.frame is None else len(parsed.frame)


def read_calamine(path: Path) -> tuple[float, int]:
    """A bare calamine read of the same sheet: every cell as a Python value."""
    from python_calamine import CalamineWorkbook

    start = time.perf_counter()
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    return time.perf_counter() - start, len(rows) - 1


# ---------------------------------------------------------------------------- the run


def parse_size(text: str) -> int:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([kKmM]?)", text.replace(",", "").replace("_", ""))
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 10000, 10k, 1M)")
    scale = {"": 1, "k": 1_000, "m": 1_000_000}[m[2].lower()]
    return int(float(m[1]) * scale)


def _med(xs: list[float]) -> float:
    return statistics.median(xs) if xs else math.nan


def _extrapolate(points: list[tuple[int, float]], n: int) -> float:
    """The value at n rows on the line through the last two points (a fixed cost plus a cost
    per row), or through the origin and the one point there is (an overestimate)."""
    (n1, y1) = points[-1]
    if len(points) == 1:
        return y1 * n / n1
    (n0, y0) = points[-2]
    slope = max((y1 - y0) / (n1 - n0), 0.0)
    return y1 + slope * (n - n1)


def _over_budget(done: list[tuple[int, Measure]], n: int, args: argparse.Namespace) -> str:
    """Why `n` rows would not fit the budgets, extrapolated linearly from the sizes before
    (growth is linear: nothing quadratic)."""
    if not done:
        return ""
    n0, m = done[-1]
    if m.stopped:
        return f"{n0:,} rows were already {m.stopped}"
    t = _extrapolate([(k, x.wall) for k, x in done], n)
    rss = _extrapolate([(k, float(x.rss)) for k, x in done], n)
    if t > args.time_budget:
        return (
            f"{n0:,} rows took {m.wall:.0f} s: about {t:.0f} s expected "
            f"(budget {args.time_budget:.0f} s)"
        )
    if rss > args.rss_budget * GIB:
        return (
            f"{n0:,} rows peaked at {m.rss / GIB:.2f} GiB: about {rss / GIB:.1f} GiB expected "
            f"(budget {args.rss_budget:.0f} GiB)"
        )
    return ""


def _accepted(m: Measure, instrument: str, expected: int) -> str:
    if m.stopped:
        return "stopped"
    got = m.summary.get(instrument)
    if m.rc != 0 or got is None:
        return f"failed ({m.rc})"
    acc, rows = got
    return "all" if acc == rows == expected else f"{acc:,}/{rows:,}!"


def growth_exponent(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of log(time) on log(rows)."""
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(t) for _, t in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else math.nan


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--sizes",
        nargs="+",
        type=parse_size,
        default=[10_000, 100_000, 1_000_000],
        help="hires sizes in rows (10k, 1M, ...)",
    )
    p.add_argument("--ministry-sizes", nargs="*", type=parse_size, default=[5_000, 50_000])
    p.add_argument("--skip-1m", action="store_true", help="leave out sizes of 1M rows and more")
    p.add_argument("--repeats", type=int, default=1, help="interleaved repeats (medians)")
    p.add_argument(
        "--append-rows",
        type=parse_size,
        default=100_000,
        help="hires export the 1%% append is measured on",
    )
    p.add_argument("--no-append", action="store_true", help="skip the 1%% append measurement")
    p.add_argument("--time-budget", type=float, default=1200.0, help="seconds per koryu run")
    p.add_argument("--rss-budget", type=float, default=16.0, help="GiB per koryu run")
    p.add_argument("--cache-dir", type=Path, default=None, help="generated exports (kept)")
    p.add_argument("--keep", action="store_true", help="keep the logs and warehouses")
    args = p.parse_args(argv)

    hires_sizes = sorted({n for n in args.sizes if not (args.skip_1m and n >= 1_000_000)})
    ministry_sizes = sorted(set(args.ministry_sizes))
    work = Path(tempfile.mkdtemp(prefix="koryu-scale-"))
    bench = Bench(args, work)

    # ---- inputs (cached by size)
    print(
        f"machine: {os.cpu_count()} cores, {_mem_available() / GIB:.1f} GiB available; "
        f"load {os.getloadavg()[0]:.1f}; {args.repeats} interleaved repeat(s)",
        flush=True,
    )
    exports: dict[tuple[str, int], Path] = {}
    for instrument, sizes in (("hires", hires_sizes), ("ministry", ministry_sizes)):
        for n in sizes:
            start = time.perf_counter()
            exports[(instrument, n)] = gen.cached_export(instrument, n, args.cache_dir)
            took = time.perf_counter() - start
            size = exports[(instrument, n)].stat().st_size
            print(
                f"  export {instrument} {n:>9,} rows  {size / 2**20:7.1f} MiB  "
                f"({'generated in ' + format(took, '.1f') + ' s' if took > 0.05 else 'cached'})",
                flush=True,
            )
    append_base = args.append_rows
    if not args.no_append:
        exports[("hires", append_base)] = gen.cached_export("hires", append_base, args.cache_dir)
        if ministry_sizes:
            exports[("ministry", ministry_sizes[0])] = gen.cached_export(
                "ministry", ministry_sizes[0], args.cache_dir
            )

    koryu: dict[tuple[str, int], list[Measure]] = {}
    duck: dict[int, list[Measure]] = {}
    reads: dict[int, tuple[list[float], list[float], int, int]] = {}
    skipped: dict[tuple[str, int], str] = {}
    floors: dict[int, list[Floors]] = {}
    append_full: list[Measure] = []
    append_re: list[Measure] = []
    append_idle: list[Measure] = []

    for rep in range(args.repeats):
        print(f"repeat {rep + 1}/{args.repeats}", flush=True)
        for instrument, sizes in (("hires", hires_sizes), ("ministry", ministry_sizes)):
            done: list[tuple[int, Measure]] = []  # this repeat's sizes so far
            for n in sizes:
                key = (instrument, n)
                if key in skipped:
                    continue
                if why := _over_budget(done, n, args):
                    skipped[key] = why
                    print(f"  skip {instrument} {n:,}: {why}", flush=True)
                    continue
                path = exports[key]
                m = bench.koryu_fresh(instrument, path)
                koryu.setdefault(key, []).append(m)
                done.append((n, m))
                line = (
                    f"  koryu run  {instrument:8} {n:>9,}  {m.wall:7.1f} s  cpu {m.cpu:7.1f} s"
                    f"  {m.rss / GIB:5.2f} GiB  rows accepted: {_accepted(m, instrument, n)}"
                )
                print(line + (f"  [{m.stopped}]" if m.stopped else ""), flush=True)
                if instrument == "hires":
                    d = bench.duckdb(path)
                    duck.setdefault(n, []).append(d)
                    print(
                        f"  duckdb     {instrument:8} {n:>9,}  {d.wall:7.1f} s  cpu "
                        f"{d.cpu:7.1f} s  {d.rss / GIB:5.2f} GiB"
                        + ("" if d.rc == 0 else f"  FAILED: {d.log}"),
                        flush=True,
                    )
                    if m.rc == 0 and not m.stopped:
                        f = bench.floors(instrument, path)
                        floors.setdefault(n, []).append(f)
                        print(
                            f"  floors     {instrument:8} {n:>9,}  nothing to do "
                            f"{f.idle.wall:5.1f} s  SQLite inserting the copy's "
                            f"{f.sql_rows:,} rows {f.sql_seconds:5.1f} s  encoding the "
                            f"facts' {f.parquet_rows:,} rows {f.parquet_seconds:5.1f} s",
                            flush=True,
                        )
                else:
                    raw_copy = work / "read" / "ministry" / gen.WAVE / path.name
                    _place(path, work / "read", "ministry")
                    t_p, n_p = read_pipeline(raw_copy)
                    t_c, n_c = read_calamine(raw_copy)
                    r = reads.setdefault(n, ([], [], n_p, n_c))
                    r[0].append(t_p)
                    r[1].append(t_c)
                    print(
                        f"  read .xlsx ministry {n:>9,}  pipeline {t_p:6.2f} s ({n_p:,} rows)"
                        f"  calamine {t_c:6.2f} s ({n_c:,} rows)",
                        flush=True,
                    )
        if not args.no_append:
            full, rerun, idle = measure_append(bench, exports, append_base, ministry_sizes)
            append_full.append(full)
            append_re.append(rerun)
            append_idle.append(idle)

    report(
        args,
        hires_sizes,
        ministry_sizes,
        koryu,
        duck,
        reads,
        skipped,
        floors,
        append_base,
        append_full,
        append_re,
        append_idle,
    )
    if args.keep:
        print(f"logs and warehouses kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def measure_append(
    bench: Bench, exports: dict[tuple[str, int], Path], base: int, ministry_sizes: list[int]
) -> tuple[Measure, Measure, Measure]:
    """A full run on one hires export (and the smallest ministry export beside it, as a
    wave has both), then 1% more rows appended to the hires export and a re-run, then a
    run with nothing to do: the floor under any re-run."""
    case = bench.work / "append"
    shutil.rmtree(case, ignore_errors=True)
    raw = case / "raw"
    hires_path = _place(exports[("hires", base)], raw, "hires", copy=True)
    if ministry_sizes:
        _place(exports[("ministry", ministry_sizes[0])], raw, "ministry")
    home = _fresh_home(case / "home")
    full = bench.koryu(raw, case / "warehouse", home, "append-full")
    extra = max(1, base // 100)
    gen.append_hires(hires_path, base, extra)
    rerun = bench.koryu(raw, case / "warehouse", home, "append-rerun")
    idle = bench.koryu(raw, case / "warehouse", home, "append-idle")
    print(
        f"  1% append  hires {base:,} + {extra:,} rows: full {full.wall:.1f} s, "
        f"re-run {rerun.wall:.1f} s ({rerun.wall / full.wall:.0%}), nothing to do "
        f"{idle.wall:.1f} s ({idle.wall / full.wall:.0%}); rows accepted after the append: "
        f"{_accepted(rerun, 'hires', base + extra)}",
        flush=True,
    )
    return full, rerun, idle


def _mem_available() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _verdict(ok: bool | None) -> str:
    return "n/a " if ok is None else "PASS" if ok else "FAIL"


def report(
    args: argparse.Namespace,
    hires_sizes: list[int],
    ministry_sizes: list[int],
    koryu: dict[tuple[str, int], list[Measure]],
    duck: dict[int, list[Measure]],
    reads: dict[int, tuple[list[float], list[float], int, int]],
    skipped: dict[tuple[str, int], str],
    floors: dict[int, list[Floors]],
    append_base: int,
    append_full: list[Measure],
    append_re: list[Measure],
    append_idle: list[Measure],
) -> None:
    print()
    print(
        "| form | rows | koryu run s | cpu s | peak RSS GiB | DuckDB s | ratio | cpu ratio "
        "| read s | calamine s | ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for instrument, sizes in (("hires", hires_sizes), ("ministry", ministry_sizes)):
        for n in sizes:
            key = (instrument, n)
            if key in skipped:
                print(f"| {instrument} | {n:,} | skipped: {skipped[key]} |" + " |" * 8)
                continue
            ms = koryu.get(key, [])
            wall, cpu = _med([m.wall for m in ms]), _med([m.cpu for m in ms])
            rss = max((m.rss for m in ms), default=0) / GIB
            cells = [f"{wall:.1f}", f"{cpu:.1f}", f"{rss:.2f}"]
            if instrument == "hires":
                d = _med([m.wall for m in duck.get(n, [])])
                d_cpu = _med([m.cpu for m in duck.get(n, [])])
                cells += [f"{d:.2f}", f"{wall / d:.0f}x", f"{cpu / d_cpu:.0f}x", "", "", ""]
            else:
                t_p, t_c, _, _ = reads[n]
                rp, rc = _med(t_p), _med(t_c)
                cells += ["", "", "", f"{rp:.2f}", f"{rc:.2f}", f"{rp / rc:.1f}x"]
            stop = f" ({ms[0].stopped})" if ms and ms[0].stopped else ""
            print(f"| {instrument} | {n:,} | " + " | ".join(cells) + f" |{stop}")

    if floors:
        print(
            "\nfloors (hires): a koryu run with nothing to do; SQLite inserting the run's SQL copy"
            " by itself (no driver, no journal); encoding the facts and quarantine partitions"
            " once; their sum against the 10x DuckDB budget"
        )
        print(
            "| rows | koryu run s | nothing to do s | SQL copy rows | SQLite floor s "
            "| Parquet rows | Parquet floor s | sum / budget |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for n in hires_sizes:
            if n not in floors:
                continue
            f0 = floors[n][0]
            idle, sql, enc, total = _floor_medians(floors[n])
            wall = _med([m.wall for m in koryu[("hires", n)]])
            budget = TARGET_RATIO_DUCKDB * _med([d.wall for d in duck.get(n, [])])
            print(
                f"| {n:,} | {wall:.1f} | {idle:.1f} | {f0.sql_rows:,} | {sql:.1f} "
                f"| {f0.parquet_rows:,} | {enc:.1f} "
                f"| {total:.1f} / {budget:.1f} s ({total / budget:.0%}) |"
            )

    points = [
        (n, _med([m.wall for m in koryu[("hires", n)]]))
        for n in hires_sizes
        if ("hires", n) in koryu and not any(m.stopped for m in koryu[("hires", n)])
    ]
    if len(points) >= 2:
        print(
            f"\ngrowth exponent (log-log slope of koryu run wall time on hires rows, "
            f"{len(points)} sizes): {growth_exponent(points):.2f}"
        )
        (n0, t0), (n1, t1) = points[-2], points[-1]
        print(
            f"  between the two largest sizes: {growth_exponent(points[-2:]):.2f}; "
            f"marginal cost {(t1 - t0) / (n1 - n0) * 1e6:.0f} us per row"
        )
        print(
            "  (below 1 while the fixed start-up cost weighs: growth is linear, or worse, above 1)"
        )

    print("\ntargets (issue 9):")
    n = TARGET_ROWS["hires"]
    ms, ds = koryu.get(("hires", n), []), duck.get(n, [])
    if ms and ds and not ms[0].stopped:
        ratio = _med([m.wall for m in ms]) / _med([d.wall for d in ds])
        rss = max(m.rss for m in ms) / GIB
        print(
            f"  {_verdict(ratio <= TARGET_RATIO_DUCKDB)}  1M hires: koryu run {ratio:.0f}x "
            f"DuckDB (target <= {TARGET_RATIO_DUCKDB:.0f}x)"
        )
        if n in floors:
            budget = TARGET_RATIO_DUCKDB * _med([d.wall for d in ds])
            idle, sql, enc, total = _floor_medians(floors[n])
            print(
                f"        of its {budget:.1f} s budget, {idle:.1f} s go to a run with nothing to "
                f"do, {sql:.1f} s to SQLite inserting the {floors[n][0].sql_rows:,} rows of the "
                f"SQL copy and {enc:.1f} s to encoding the facts once: {budget - total:.1f} s "
                "are left to read, validate and tabulate"
            )
        print(
            f"  {_verdict(rss <= TARGET_RSS_GIB)}  1M hires: peak RSS {rss:.2f} GiB "
            f"(target <= {TARGET_RSS_GIB:.0f} GiB)"
        )
    else:
        why = skipped.get(("hires", n)) or (
            ms[0].stopped if ms else "--skip-1m" if args.skip_1m else "not in --sizes"
        )
        print(f"  {_verdict(None)}  1M hires: not measured ({why})")
    n = TARGET_ROWS["ministry"]
    if n in reads:
        t_p, t_c, _, _ = reads[n]
        ratio = _med(t_p) / _med(t_c)
        print(
            f"  {_verdict(ratio <= TARGET_RATIO_CALAMINE)}  50k ministry .xlsx: reading "
            f"{ratio:.1f}x a bare calamine read (target <= {TARGET_RATIO_CALAMINE:.0f}x)"
        )
    else:
        print(f"  {_verdict(None)}  50k ministry .xlsx: not measured (not in --ministry-sizes)")
    if append_full:
        full, rerun = _med([m.wall for m in append_full]), _med([m.wall for m in append_re])
        share = rerun / full
        print(
            f"  {_verdict(share <= TARGET_APPEND_SHARE)}  1% appended to a {append_base:,}-row "
            f"hires export: re-run {rerun:.1f} s = {share:.0%} of the full run {full:.1f} s "
            f"(target <= {TARGET_APPEND_SHARE:.0%})"
        )
        idle = _med([m.wall for m in append_idle])
        print(
            f"        a run with nothing to do takes {idle:.1f} s = {idle / full:.0%} of the full "
            "run: the floor under any re-run"
        )
    else:
        print(f"  {_verdict(None)}  1% append: not measured (--no-append)")
    print("  (the demo's run-cost ratios are `make bench`'s)")


if __name__ == "__main__":
    sys.exit(main())
