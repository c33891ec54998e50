"""Reading the demo exports independently of the pipeline: openpyxl and the csv module
directly, not the pipeline's readers, and the rules judged from the codebook alone, so the demo
tests check the exports against the forms, not against the code that wrote them."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

import openpyxl

from koryu_pipeline.codebook import Entry, Form, get_codebook, normalise_text
from koryu_pipeline.demo.calibration import EXPECTED_DEFECTS, EXPECTED_FILES

# The export's own columns as Microsoft Forms writes them, typed out on purpose: the writers
# build them from the readers' constants, so this is the check that those are right.
MS_FIXED = ["ID", "開始時刻", "完了時刻", "メール", "名前"]
Row = dict[str, object]  # field column -> str | tuple[str, ...] | None, plus "_meta" keys


def ministry_form() -> Form:
    return get_codebook().form("ministry", "2023")


def hires_form() -> Form:
    return get_codebook().form("hires", "2023")


# ---------------------------------------------------------------------------- independent reading


def read_xlsx(path: Path) -> tuple[list[str], list[tuple]]:
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Sheet1"]
    rows = list(wb["Sheet1"].iter_rows(values_only=True))
    return list(rows[0]), rows[1:]


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    data = path.read_bytes()
    text = data.decode("utf-8-sig") if data.startswith(b"\xef\xbb\xbf") else data.decode("cp932")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return rows[0], rows[1:]


def split_multi(cell: str, seps: tuple[str, ...]) -> tuple[str, ...]:
    for sep in seps[1:]:
        cell = cell.replace(sep, seps[0])
    return tuple(p for p in (normalise_text(x) for x in cell.split(seps[0])) if p)


def parse(form: Form, cells: list, seps: tuple[str, ...]) -> Row:
    out: Row = {}
    for f, cell in zip(form.fields, cells, strict=True):
        if cell is None or str(cell).strip() == "":
            out[f.column] = None
        elif f.entry.is_multi:
            out[f.column] = split_multi(str(cell), seps)
        else:
            out[f.column] = normalise_text(str(cell))
    return out


def ministry_rows(raw: Path, rel: str) -> list[Row]:
    form = ministry_form()
    _, rows = read_xlsx(raw / rel)
    out = []
    for r in rows:
        row = parse(form, list(r[5:]), (";",))
        row.update(_id=r[0], _started=r[1], _submitted=r[2], _email=r[3], _name=r[4])
        out.append(row)
    return out


def hires_time(text: str) -> datetime:
    if text.endswith(" GMT+9"):
        day, clock, half, _ = text.split(" ")
        t = datetime.strptime(f"{day} {clock}", "%Y/%m/%d %H:%M:%S")
        hour = t.hour % 12 + (12 if half == "午後" else 0)
        return t.replace(hour=hour)
    return datetime.strptime(text, "%Y/%m/%d %H:%M:%S")


def hires_rows(raw: Path, rel: str) -> list[Row]:
    form = hires_form()
    _, rows = read_csv(raw / rel)
    out = []
    for r in rows:
        row = parse(form, r[1:], (", ", ";"))
        row["_submitted"] = hires_time(r[0])
        out.append(row)
    return out


def defect_rows(rel: str) -> dict[int, str]:
    return {d.row: d.rule for d in EXPECTED_DEFECTS if d.file == rel}


def accepted(raw: Path, instrument: str) -> list[Row]:
    out = []
    for rel in sorted(EXPECTED_FILES):
        if rel.startswith(instrument):
            rows = ministry_rows(raw, rel) if instrument == "ministry" else hires_rows(raw, rel)
            bad = defect_rows(rel)
            out += [r for i, r in enumerate(rows, 1) if i not in bad]
    return out


# ---------------------------------------------------------------------------- an independent check


def routed(entry: Entry, row: Row) -> bool:
    return all(
        row.get(dep) in {normalise_text(v) for v in values} for dep, values in entry.asked_if
    )


def problems(form: Form, row: Row) -> set[str]:
    """Rules this row breaks, judged from the codebook alone."""
    out = set()
    for e in form.entries:
        cols = [i.item_id for i in e.items] if e.type == "likert" else [e.id]
        values = [row[c] for c in cols]
        answered = [v for v in values if v is not None]
        if e.required and not answered:
            out.add("missing_required")
        if answered and e.asked_if and not routed(e, row):
            out.add("not_routed")
        for v in answered:
            labels = v if isinstance(v, tuple) else (v,)
            if e.is_choice and any(lab not in e.option_by_key for lab in labels):
                out.add("unknown_option")
            if e.max_choices and len(labels) > e.max_choices:
                out.add("too_many_choices")
            if len(labels) > 1 and set(labels) & e.exclusive_keys:
                out.add("exclusive_option")
    return out
