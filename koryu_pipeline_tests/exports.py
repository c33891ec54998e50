"""Write real export files for tests: Microsoft Forms .xlsx (openpyxl) and Google Forms .csv
(UTF-8 with/without BOM, CP932). Rows are dicts keyed by codebook column id; a multi answer
is a list of labels."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook

from koryu_pipeline.codebook import Form, get_codebook
from koryu_pipeline.readers.googleforms_csv import grid_header

MS_META = ["ID", "開始時刻", "完了時刻", "メール", "名前"]


def ministry_form() -> Form:
    return get_codebook().form("ministry", "2023")


def hires_form() -> Form:
    return get_codebook().form("hires", "2023")


def base_ministry(**over: object) -> dict[str, object]:
    """A valid ministry response routed to nothing but the questions asked of all."""
    row: dict[str, object] = {
        "org_name": "テスト省",
        "org_type": "府省",
        "personnel_line": None,
        "s_dispatch": "いいえ",
        "s_hire": "いいえ",
        "q07": "更なる交流派遣に積極的である",
        "q08_age": "30代",
        "q08_work": "所管行政と関連する分野の業務",
        "q16": "更なる交流採用に積極的である",
        "q17_age": "30代",
        "q17_traits": ["異なる環境や組織文化に適応できる"],
    }
    row.update(over)
    return row


def base_hires(**over: object) -> dict[str, object]:
    row: dict[str, object] = {
        "host_org_type": "府省",
        "age_band": "30代",
        "industry": "製造業",
        "satisfaction_1": "満足",
        "satisfaction_2": "やや満足",
        "satisfaction_3": "満足",
        "support_wishes": ["府省特有の文化やルールに関する解説の充実"],
    }
    row.update(over)
    return row


def _cell(value: object, sep: str, trailing: bool) -> object:
    if isinstance(value, list | tuple):
        return "".join(f"{v}{sep}" for v in value) if trailing else sep.join(value)
    return value


def write_msforms_xlsx(
    path: Path,
    rows: Iterable[dict[str, object]],
    form: Form | None = None,
    *,
    drop_headers: tuple[str, ...] = (),
    header_suffix: str = "",
    trailing_sep: bool = True,
    start_id: int = 1,
    submitted: Iterable[datetime] | None = None,
) -> Path:
    form = form or ministry_form()
    headers = MS_META + [f.header + header_suffix for f in form.fields]
    keep = [i for i, h in enumerate(headers) if h not in drop_headers]
    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append([headers[i] for i in keep])
    times = list(submitted) if submitted is not None else None
    for n, row in enumerate(rows):
        done = times[n] if times else datetime(2023, 11, 20, 10, 0, n % 60)
        values = [
            row.get("ID", start_id + n),
            row.get("開始時刻", done.replace(minute=0)),
            row.get("完了時刻", done),
            row.get("メール", f"taro.yamada{n}@example.go.jp"),
            row.get("名前", f"山田 太郎{n}"),
        ] + [_cell(row.get(f.column), ";", trailing_sep) for f in form.fields]
        ws.append([values[i] for i in keep])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def google_csv_text(
    rows: Iterable[dict[str, object]],
    form: Form | None = None,
    *,
    sep: str = ", ",
    ampm: bool = False,
    drop_headers: tuple[str, ...] = (),
) -> str:
    form = form or hires_form()
    headers = ["タイムスタンプ"] + [grid_header(f) for f in form.fields]
    keep = [i for i, h in enumerate(headers) if h not in drop_headers]
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([headers[i] for i in keep])
    for n, row in enumerate(rows):
        ts = row.get("タイムスタンプ")
        if ts is None:
            t = datetime(2023, 11, 20, 15, 4, n % 60)
            if ampm:
                h12 = t.hour % 12 or 12
                half = "午後" if t.hour >= 12 else "午前"
                ts = f"{t:%Y/%m/%d} {h12}:{t:%M:%S} {half} GMT+9"
            else:
                ts = f"{t:%Y/%m/%d %H:%M:%S}"
        values = [ts] + [_cell(row.get(f.column), sep, False) or "" for f in form.fields]
        w.writerow([values[i] for i in keep])
    return buf.getvalue()


def write_google_csv(
    path: Path,
    rows: Iterable[dict[str, object]],
    form: Form | None = None,
    *,
    encoding: str = "utf-8-sig",
    **kwargs: object,
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(google_csv_text(rows, form, **kwargs).encode(encoding))  # type: ignore[arg-type]
    return path
