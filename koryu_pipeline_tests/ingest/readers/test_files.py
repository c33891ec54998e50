"""Every file of a wave folder is accounted for, read at most once, and never read from
outside the raw folder; folder names are matched as people type them."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest

from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.defs.fingerprints import fingerprints
from koryu_pipeline.ingest.readers import discover, export_files, read_export
from koryu_pipeline.ingest.wave import ingest_wave
from koryu_pipeline_tests.exports import (
    base_hires,
    base_ministry,
    write_google_csv,
    write_msforms_xlsx,
)


def read(path: Path, raw: Path, instrument: str = "ministry", wave: str = "2023"):
    return read_export(path, raw, get_codebook(), instrument, wave)


@pytest.mark.parametrize(
    ("name", "advice"),
    [
        ("export.xls", "re-export as .xlsx"),
        ("export.ods", "re-export as .xlsx"),
        ("export.xlsm", "re-export as .xlsx"),
        ("export.txt", "re-export as .csv"),
        ("export.tsv", "re-export as .csv"),
        ("export.json", "re-export as .xlsx (Microsoft Forms) or .csv (Google Forms)"),
        ("README", "re-export as .xlsx (Microsoft Forms) or .csv (Google Forms)"),
    ],
)
def test_a_format_the_readers_do_not_take_is_unreadable(tmp_path, name, advice):
    raw = tmp_path / "raw"
    path = raw / "ministry" / "2023" / name
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\xd0\xcf\x11\xe0 an old workbook or anything else")
    parsed = read(path, raw)
    assert parsed.problem.rule == "unreadable_file" and parsed.rows == 0
    assert parsed.problem.message.startswith(f"ministry/2023/{name}: ")
    assert parsed.problem.message.endswith(advice) or advice + " (" in parsed.problem.message
    assert parsed.digest is None  # not read


@pytest.mark.parametrize("name", ["~$export.xlsx", ".export.csv", "._export.xlsx", ".DS_Store"])
def test_lock_and_hidden_files_are_listed_as_ignored(tmp_path, name):
    raw = tmp_path / "raw"
    path = write_msforms_xlsx(raw / "ministry" / "2023" / name, [base_ministry()])
    parsed = read(path, raw)
    assert (parsed.problem.rule, parsed.rows, parsed.digest) == ("ignored_file", 0, None)


def test_a_link_out_of_the_raw_folder_is_never_read(tmp_path):
    raw = tmp_path / "raw"
    outside = write_msforms_xlsx(tmp_path / "elsewhere" / "x.xlsx", [base_ministry()])
    folder = raw / "ministry" / "2023"
    folder.mkdir(parents=True)
    (folder / "linked.xlsx").symlink_to(outside)
    (folder / "passwd.csv").symlink_to("/etc/passwd")
    (folder / "nowhere.xlsx").symlink_to(tmp_path / "missing.xlsx")
    for name in ("linked.xlsx", "passwd.csv", "nowhere.xlsx"):
        parsed = read(folder / name, raw)
        assert (parsed.problem.rule, parsed.rows, parsed.digest) == ("outside_raw", 0, None)
        assert parsed.frame is None
    # a link inside the raw folder is read
    inside = write_msforms_xlsx(raw / "elsewhere.xlsx", [base_ministry()])
    (folder / "inside.xlsx").symlink_to(inside)
    assert read(folder / "inside.xlsx", raw).rows == 1
    # nor does change detection open what is outside
    prints = fingerprints(raw)
    assert prints["ministry/2023/linked.xlsx"] == "not read: outside_raw"


def test_a_wave_folder_that_is_a_link_out_of_raw_is_not_read(tmp_path):
    raw = tmp_path / "raw"
    write_msforms_xlsx(tmp_path / "elsewhere" / "x.xlsx", [base_ministry()])
    (raw / "ministry").mkdir(parents=True)
    (raw / "ministry" / "2023").symlink_to(tmp_path / "elsewhere")
    files = ingest_wave(get_codebook(), raw, "2023").table("quarantine/files")
    assert files[["source_file", "rows", "file_rejected"]].values.tolist() == [
        ["ministry/2023/x.xlsx", 0, True]
    ]


def test_a_pipe_is_never_opened(tmp_path):
    """Opening a FIFO would wait for a writer for ever: it is listed, not read."""
    raw = tmp_path / "raw"
    folder = raw / "hires" / "2023"
    folder.mkdir(parents=True)
    os.mkfifo(folder / "pipe.csv")
    out: list = []
    reader = threading.Thread(target=lambda: out.append(ingest_wave(get_codebook(), raw, "2023")))
    reader.daemon = True
    reader.start()
    reader.join(timeout=60)
    assert out, "the pipe was opened"
    rej = out[0].table("quarantine/rejections")
    assert rej[["rule", "message"]].values.tolist() == [
        ["unreadable_file", "hires/2023/pipe.csv: unreadable_file: not a regular file: not read"]
    ]


def test_the_digest_is_of_the_bytes_read(tmp_path):
    raw = tmp_path / "raw"
    path = write_google_csv(raw / "hires" / "2023" / "a.csv", [base_hires()])
    parsed = read(path, raw, "hires")
    assert parsed.digest == hashlib.sha256(path.read_bytes()).hexdigest()
    no_form = write_google_csv(raw / "hires" / "2031" / "a.csv", [base_hires()])
    assert read(no_form, raw, "hires", "2031").digest == parsed.digest


def test_folder_names_as_people_type_them(tmp_path):
    raw = tmp_path / "raw"
    write_google_csv(raw / "Hires" / "２０２３" / "a.csv", [base_hires()])
    write_google_csv(raw / "HIRES" / "2023 " / "b.csv", [base_hires(age_band="40代")])
    write_msforms_xlsx(raw / "ministry" / "2023" / "m.xlsx", [base_ministry()])
    assert discover(raw) == {"2023": ["hires", "ministry"]}
    assert [p.relative_to(raw).as_posix() for p in export_files(raw, "hires", "2023")] == [
        "HIRES/2023 /b.csv",
        "Hires/２０２３/a.csv",
    ]
    facts = ingest_wave(get_codebook(), raw, "2023")
    assert len(facts.table("facts/respondents")) == 3
    prints = fingerprints(raw)  # keyed by the wave as matched, so plans group them
    assert sorted(prints) == [
        "hires/2023/HIRES/2023 /b.csv",
        "hires/2023/Hires/２０２３/a.csv",
        "ministry/2023/m.xlsx",
    ]


def test_every_file_of_a_wave_folder_has_its_row(tmp_path):
    raw = tmp_path / "raw"
    folder = raw / "ministry" / "2023"
    write_msforms_xlsx(folder / "good.xlsx", [base_ministry(), base_ministry(org_name="B省")])
    write_msforms_xlsx(folder / "~$good.xlsx", [base_ministry()])
    (folder / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (folder / "notes.txt").write_text("メモ", encoding="utf-8")
    (folder / "broken.xlsx").write_bytes(b"PK\x03\x04 truncated")
    (folder / "link.csv").symlink_to("/etc/hostname")
    write_google_csv(raw / "misc" / "2023" / "stray.csv", [base_hires(), base_hires()])
    facts = ingest_wave(get_codebook(), raw, "2023")
    files = facts.table("quarantine/files")
    listed = {
        p.relative_to(raw).as_posix() for p in raw.rglob("*") if p.is_symlink() or p.is_file()
    }
    assert set(files["source_file"]) == listed
    rules = facts.table("quarantine/rejections").set_index("source_file")["rule"].to_dict()
    assert rules == {
        "ministry/2023/.DS_Store": "ignored_file",
        "ministry/2023/~$good.xlsx": "ignored_file",
        "ministry/2023/broken.xlsx": "unreadable_file",
        "ministry/2023/link.csv": "outside_raw",
        "ministry/2023/notes.txt": "unreadable_file",
        "ministry/2023/old.xls": "unreadable_file",
        "misc/2023/stray.csv": "no_form",  # a folder named for no instrument: reported
    }
    counts = files.set_index("source_file")[["rows", "accepted", "rejected"]]
    assert counts.loc["ministry/2023/good.xlsx"].tolist() == [2, 2, 0]
    assert counts.loc["misc/2023/stray.csv"].tolist() == [2, 0, 2]
    assert (counts["accepted"] + counts["rejected"] == counts["rows"]).all()
    message = facts.table("quarantine/rejections").set_index("source_file")["message"]
    assert "move the file under hires/ or ministry/" in message["misc/2023/stray.csv"]
