"""Where things stand, in words: what `koryu run` prints after a run, what `koryu status`
and `koryu run --dry-run` print. Plain functions over the warehouse's quarantine tables and
a run plan (defs/plan.py); the CLI only prints their lines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from koryu_pipeline.defs.fingerprints import wave_of
from koryu_pipeline.warehouse.parquet import read_partitions
from koryu_pipeline.warehouse.tables import FILES, FILES_SCHEMA, REJECTIONS, REJECTIONS_SCHEMA

if TYPE_CHECKING:  # not at run time: `koryu demo-data` need not import Dagster
    from koryu_pipeline.defs.plan import LastRun, RunPlan

DUPLICATE = "duplicate"  # the same response in an earlier or later export: counted once
COUNTED_ONCE = "counted once (duplicate of another export)"
UNREADABLE = "unreadable_file"


@dataclass(frozen=True)
class FileCount:
    instrument: str
    wave: str
    source_file: str
    rows: int
    accepted: int
    duplicates: int  # rows that are another export's response, counted there
    rejected: int  # rows set aside for breaking a rule (duplicates excluded)
    set_aside_whole: str | None  # why the whole file was set aside, if it was
    unreadable: bool
    rules: dict[str, int]  # rejected rows by rule (a row breaking two rules counts twice)


def file_counts(warehouse: Path) -> list[FileCount]:
    """Per export file, what its last run accepted, counted once and rejected."""
    files = read_partitions(warehouse, FILES, FILES_SCHEMA)
    rejections = read_partitions(warehouse, REJECTIONS, REJECTIONS_SCHEMA)
    by_file = {str(f): g for f, g in rejections.groupby("source_file", sort=False)}
    out = []
    for r in files.itertuples(index=False):
        rej = by_file.get(str(r.source_file), rejections.iloc[0:0])
        dup_rows = rej.loc[rej["rule"] == DUPLICATE, "source_row"].dropna().nunique()
        whole = rej.loc[rej["source_row"].isna()]
        reason = None
        if bool(r.file_rejected) and not whole.empty:
            rule = str(whole.iloc[0]["rule"])
            message = str(whole.iloc[0]["message"]).removeprefix(f"{r.source_file}: ")
            message = message.removeprefix(f"{rule}: ")
            reason = message if rule == UNREADABLE else f"{rule}: {message}"
        # rows only: a file set aside whole has no rows to count (it is named instead)
        row_rules = rej.loc[(rej["rule"] != DUPLICATE) & rej["source_row"].notna()]
        rules = row_rules.groupby("rule").size().sort_index().to_dict()
        out.append(
            FileCount(
                instrument=str(r.instrument),
                wave=str(r.wave),
                source_file=str(r.source_file),
                rows=int(r.rows),
                accepted=int(r.accepted),
                duplicates=int(dup_rows),
                rejected=int(r.rejected) - int(dup_rows),
                set_aside_whole=reason,
                unreadable=bool(r.file_rejected) and bool((whole["rule"] == UNREADABLE).any()),
                rules={str(k): int(v) for k, v in rules.items()},
            )
        )
    return out


def _whole(c: FileCount) -> bool:
    """Set aside whole for a reason other than being unreadable (no_form, missing_column)."""
    return c.set_aside_whole is not None and not c.unreadable


def _rules(rules: dict[str, int]) -> str:
    return ", ".join(f"{rule} {n}" for rule, n in sorted(rules.items()))


def summary_lines(counts: list[FileCount]) -> list[str]:
    """Per file and per instrument and wave: accepted, counted once, rejected."""
    if not counts:
        return ["no export files were read"]
    width = max(len(c.source_file) for c in counts)
    lines = [
        f"{'file'.ljust(width)}  {'rows':>5}  {'accepted':>8}  {'counted once':>12}  "
        f"{'rejected':>8}"
    ]
    for c in counts:
        name = c.source_file.ljust(width)
        if c.unreadable:
            lines.append(f"{name}  {'-':>5}  {'-':>8}  {'-':>12}  {'-':>8}  unreadable: ")
            lines[-1] += c.set_aside_whole or "the file could not be read"
            continue
        line = f"{name}  {c.rows:>5}  {c.accepted:>8}  {c.duplicates:>12}  {c.rejected:>8}"
        if c.set_aside_whole:
            line += f"  set aside whole: {c.set_aside_whole}"
        lines.append(line)
    groups: dict[tuple[str, str], list[FileCount]] = {}
    for c in counts:
        groups.setdefault((c.instrument, c.wave), []).append(c)
    for (instrument, wave), group in sorted(groups.items()):
        accepted = sum(c.accepted for c in group)
        dups = sum(c.duplicates for c in group)
        rejected = sum(c.rejected for c in group)
        rows = sum(c.rows for c in group)
        rules: dict[str, int] = {}
        for c in group:
            for rule, n in c.rules.items():
                rules[rule] = rules.get(rule, 0) + n
        parts = [f"{accepted} accepted"]
        if dups:
            parts.append(f"{dups} {COUNTED_ONCE}")
        parts.append(f"{rejected} rejected" + (f" ({_rules(rules)})" if rules else ""))
        unreadable = sum(c.unreadable for c in group)
        tail = f"; {unreadable} unreadable file{'s' * (unreadable > 1)}" if unreadable else ""
        whole = sorted({str(c.set_aside_whole).split(":")[0] for c in group if _whole(c)})
        if whole:
            n = sum(_whole(c) for c in group)
            tail += f"; {_files(n)} set aside whole ({', '.join(whole)})"
        lines.append(f"{instrument}/{wave}: {', '.join(parts)} of {rows} rows{tail}")
    return lines


def when(last: LastRun | None) -> str:
    if last is None:
        return "never run"
    stamp = datetime.fromtimestamp(last.timestamp).astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return f"last run {stamp} (run {last.run_id[:8]})"


def _files(n: int) -> str:
    return f"{n} file{'s' * (n != 1)}"


def _standing(reasons: list[str] | None) -> str:
    return "up to date" if not reasons else "to run: " + "; ".join(reasons)


def plan_lines(plan: RunPlan) -> list[str]:
    """What a run would do and why (`koryu run --dry-run`)."""
    if plan.up_to_date:
        return ["nothing to run: every wave and the marts are up to date"]
    lines = []
    for wave in plan.stale_waves:
        lines.append(f"wave {wave}: to run ({'; '.join(plan.reasons[wave])})")
    if plan.marts_stale:
        lines.append(f"marts and SQL copy: to run ({'; '.join(plan.marts_reasons)})")
    runs = [f"wave {w}" for w in plan.stale_waves] or ["marts"]
    if plan.marts_stale and plan.stale_waves:
        runs[-1] += " + marts + SQL copy"
    lines.append(f"{len(runs)} Dagster run{'s' * (len(runs) > 1)}: {', '.join(runs)}")
    return lines


def status_lines(plan: RunPlan, counts: list[FileCount], raw: Path, warehouse: Path) -> list[str]:
    """Per wave: files now, what its last run accepted and set aside, and whether it is up
    to date or what changed (`koryu status`)."""
    lines = [f"raw exports: {raw}", f"warehouse:   {warehouse}"]
    if not plan.waves:
        return [*lines, "no exports found: nothing to run"]
    for wave in plan.waves:
        files = [k for k in plan.files if wave_of(k) == wave]
        last = plan.last_runs.get(wave)
        lines += ["", f"wave {wave}: {_files(len(files))}; {when(last)}"]
        lines.append(f"  {_standing(plan.reasons.get(wave))}")
        mine = [c for c in counts if c.wave == wave]
        for instrument in sorted({k.split("/")[0] for k in files} | {c.instrument for c in mine}):
            got = [c for c in mine if c.instrument == instrument]
            n_files = sum(1 for k in files if k.split("/")[0] == instrument)
            if not got:
                lines.append(f"  {instrument}: {_files(n_files)}, not read yet")
                continue
            aside = sum(c.duplicates + c.rejected for c in got)
            dups = sum(c.duplicates for c in got)
            unreadable = sum(c.unreadable for c in got)
            note = f", of which {dups} {COUNTED_ONCE}" if dups else ""
            note += f"; {unreadable} unreadable" if unreadable else ""
            whole = sum(_whole(c) for c in got)
            note += f"; {_files(whole)} set aside whole" if whole else ""
            lines.append(
                f"  {instrument}: {_files(n_files)}; at its last run "
                f"{sum(c.accepted for c in got)} accepted, {aside} set aside{note}"
            )
    lines += ["", f"marts and SQL copy: {when(plan.marts_last_run)}"]
    lines.append(f"  {_standing(plan.marts_reasons)}")
    return lines
