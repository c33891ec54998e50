"""The demo exports as files: each format's shape, encodings and separators, and byte-for-byte
determinism, including that the committed `data/raw/` is what the demo writes now."""

from __future__ import annotations

import os
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from koryu_pipeline.demo.assembly import build_demo_exports, write_demo_exports
from koryu_pipeline.demo.calibration import (
    EXPECTED_FILES,
    HIRES_CP932,
    HIRES_MAIN,
    MINISTRY_FINAL,
    MINISTRY_PARTIAL,
)
from koryu_pipeline_tests.demo.reading import (
    MS_FIXED,
    hires_form,
    ministry_form,
    read_csv,
    read_xlsx,
)

REPO = Path(__file__).resolve().parents[2]


def test_ministry_headers_and_cells(raw: Path) -> None:
    form = ministry_form()
    want = MS_FIXED + [f.header for f in form.fields]
    for rel in (MINISTRY_PARTIAL, MINISTRY_FINAL):
        header, rows = read_xlsx(raw / rel)
        assert header == want
        assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
        for r in rows:
            assert isinstance(r[1], datetime) and isinstance(r[2], datetime)
            assert r[1] < r[2]
            assert form.opens <= r[2].date() <= form.closes
            assert str(r[3]).endswith("@example.go.jp") and " " in str(r[4])
        done = [r[2] for r in rows]
        assert done == sorted(done)
    # the likert item texts q01/q09 and q02/q10 share head two columns each
    assert want.count("民間との相互理解の促進を図るため") == 2
    assert want.count("民間との相互理解の促進につながった") == 2


def test_hires_headers_encodings_and_separators(raw: Path) -> None:
    form = hires_form()
    want = ["タイムスタンプ"] + [
        f"{f.entry.header} [{f.item.label}]" if f.item else f.entry.header for f in form.fields
    ]
    main, batch = (raw / HIRES_MAIN).read_bytes(), (raw / HIRES_CP932).read_bytes()
    assert main.startswith(b"\xef\xbb\xbf")
    assert not batch.startswith(b"\xef\xbb\xbf")
    with pytest.raises(UnicodeDecodeError):
        batch.decode("utf-8")
    for rel in (HIRES_MAIN, HIRES_CP932):
        header, rows = read_csv(raw / rel)
        assert header == want
        assert all(len(r) == len(want) for r in rows)
    wish = want.index(form.entry("support_wishes").header)
    main_cells = [r[wish] for r in read_csv(raw / HIRES_MAIN)[1]]
    batch_cells = [r[wish] for r in read_csv(raw / HIRES_CP932)[1]]
    assert any(", " in c for c in main_cells) and not any(";" in c for c in main_cells)
    assert any(";" in c for c in batch_cells) and not any(", " in c for c in batch_cells)
    assert all(c.endswith(" GMT+9") for c in (r[0] for r in read_csv(raw / HIRES_CP932)[1]))


def test_regeneration_is_byte_identical(raw: Path, tmp_path: Path) -> None:
    paths = write_demo_exports(tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in paths) == sorted(EXPECTED_FILES)
    for rel in EXPECTED_FILES:
        assert (tmp_path / rel).read_bytes() == (raw / rel).read_bytes(), rel
    assert build_demo_exports() == {rel: (raw / rel).read_bytes() for rel in EXPECTED_FILES}
    # no wall clock in the workbooks: fixed zip entry times and document times
    for rel, created in (
        (MINISTRY_PARTIAL, b"2023-11-30T09:30:00Z"),
        (MINISTRY_FINAL, b"2023-12-22T10:00:00Z"),
    ):
        with zipfile.ZipFile(tmp_path / rel) as z:
            assert {i.date_time for i in z.infolist()} == {(2023, 12, 22, 0, 0, 0)}
            assert created in z.read("docProps/core.xml")


def test_unchanged_files_are_left_untouched(raw: Path, tmp_path: Path) -> None:
    paths = write_demo_exports(tmp_path)
    for p in paths:
        os.utime(p, ns=(0, 0))  # a time no write can give
    (tmp_path / HIRES_MAIN).write_bytes(b"edited by hand")
    write_demo_exports(tmp_path)
    assert [p for p in paths if p.stat().st_mtime_ns != 0] == [tmp_path / HIRES_MAIN]
    assert (tmp_path / HIRES_MAIN).read_bytes() == (raw / HIRES_MAIN).read_bytes()
    assert not list(tmp_path.rglob("*.tmp"))


def test_committed_raw_data_is_current(raw: Path) -> None:
    """data/raw must be what the demo writes now: after changing koryu_pipeline/demo or the
    forms, regenerate with `.venv/bin/koryu demo-data --raw-dir data/raw`."""
    committed = REPO / "data" / "raw"
    found = {
        p.relative_to(committed).as_posix()
        for inst in ("ministry", "hires")
        for p in (committed / inst).rglob("*")
        if p.is_file()
    }
    assert found == set(EXPECTED_FILES)
    for rel in EXPECTED_FILES:
        assert (committed / rel).read_bytes() == (raw / rel).read_bytes(), rel
