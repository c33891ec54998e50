"""`koryu run` on the demo exports plus the files and cells a careless or hostile user drops
in: it exits 0, lists every file with its true row count, reads nothing outside the raw
folder, and leaves no personal data under the warehouse or DAGSTER_HOME; its files are as
readable as the umask allows. And a 200,000-row export still goes through."""

from __future__ import annotations

import os
import shutil
import stat
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.ingest.wave import ingest_wave
from koryu_pipeline_tests.exports import (
    base_hires,
    base_ministry,
    google_csv_text,
    write_google_csv,
    write_msforms_xlsx,
)
from koryu_pipeline_tests.runs import ROOT, koryu_env, run_koryu

pytestmark = pytest.mark.slow

SECRET = "kimitsu.jouhou@example.com"  # in a file outside the raw folder
PERSONAL = (
    SECRET,
    "taro.suzuki@example.go.jp",
    "03-1234-5678",
    "090-8765-4321",
    "山田 太郎0",
    "山田太郎0",
    "hanako.sato@example.jp",  # in a file's name
    "080-1111-2222",
)
NAMED_AFTER_SENDER = f"from_{PERSONAL[-2]}_{PERSONAL[-1]}.csv"


def hostile_raw(base: Path) -> Path:
    raw = base / "raw"
    shutil.copytree(ROOT / "data" / "raw", raw)
    m, h = raw / "ministry" / "2023", raw / "hires" / "2023"
    write_msforms_xlsx(
        m / "typed_by_hand.xlsx",
        [
            base_ministry(org_name="甲省"),
            base_ministry(org_name="乙省", 完了時刻="9999/12/31 23:59:59 GMT-9"),
            base_ministry(org_name=f"連絡先 {PERSONAL[1]}", personnel_line=PERSONAL[2]),
            base_ministry(org_name="丙省", personnel_line=PERSONAL[4]),  # row 2's 名前
            base_ministry(org_name="丁省", q07=PERSONAL[3]),
        ],
        start_id=900,
    )
    (m / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    (m / "~$typed_by_hand.xlsx").write_bytes(b"lock")
    outside = base / "outside.csv"
    outside.write_text(google_csv_text([base_hires(industry=SECRET)]), encoding="utf-8")
    (h / "linked.csv").symlink_to(outside)
    lines = google_csv_text([base_hires(age_band="40代")] * 4).split("\r\n")
    first, rest = lines[2].split(",", 1)
    lines[2] = f'{first},"{rest}'  # a quote never closed
    (h / "broken_quote.csv").write_text("\r\n".join(lines), encoding="utf-8")
    unicode_text = google_csv_text([base_hires(age_band="20代")], sep=";").replace(",", "\t")
    (h / "unicode_text.csv").write_bytes(unicode_text.encode("utf-16"))
    write_google_csv(raw / "Hires" / "２０２３" / "late.csv", [base_hires(age_band="50代以上")])
    huge = [base_hires(age_band="30代"), base_hires(industry="長" * 300_000)]
    write_google_csv(h / "huge_cell.csv", huge)  # past the csv module's field limit
    write_google_csv(h / NAMED_AFTER_SENDER, [base_hires(industry="金融・保険業")])
    return raw


def test_a_run_on_hostile_input(tmp_path: Path) -> None:
    raw = hostile_raw(tmp_path)
    old = os.umask(0o022)
    try:
        proc = run_koryu(koryu_env(tmp_path, raw))  # exits 0
    finally:
        os.umask(old)
    wh, home = tmp_path / "wh", tmp_path / "dagster_home"
    files = pq.read_table(wh / "quarantine" / "files").to_pandas()
    counts = {
        r.source_file: (r.rows, r.accepted, r.rejected) for r in files.itertuples(index=False)
    }
    assert counts["ministry/2023/typed_by_hand.xlsx"] == (5, 3, 2)
    assert counts["ministry/2023/old.xls"] == (0, 0, 0)
    assert counts["ministry/2023/~$typed_by_hand.xlsx"] == (0, 0, 0)
    assert counts["hires/2023/linked.csv"] == (0, 0, 0)
    assert counts["hires/2023/broken_quote.csv"] == (4, 3, 1)  # the row with the quote
    assert counts["hires/2023/unicode_text.csv"] == (1, 1, 0)
    assert counts["Hires/２０２３/late.csv"] == (1, 1, 0)
    assert counts["hires/2023/huge_cell.csv"] == (2, 1, 1)
    assert counts["hires/2023/hires_2023_responses_20231222.csv"] == (482, 480, 2)
    assert counts["hires/2023/【個人情報削除】"] == (1, 1, 0)  # NAMED_AFTER_SENDER
    for name in counts:
        assert name in proc.stdout
    rules = pq.read_table(wh / "quarantine" / "rejections").to_pandas()
    by_file = rules.groupby("source_file")["rule"].apply(sorted).to_dict()
    assert by_file["ministry/2023/typed_by_hand.xlsx"] == ["invalid_timestamp", "unknown_option"]
    assert by_file["hires/2023/linked.csv"] == ["outside_raw"]
    assert "malformed_row" in by_file["hires/2023/broken_quote.csv"]
    # the export named after its sender changes: the plan says so without the name
    write_google_csv(raw / "hires/2023" / NAMED_AFTER_SENDER, [base_hires(industry="建設業")])
    again = run_koryu(koryu_env(tmp_path, raw))
    assert "export hires/2023/【個人情報削除】 changed" in again.stdout
    for text in PERSONAL:
        assert text not in proc.stdout + proc.stderr + again.stdout + again.stderr, text
    # nothing personal, and nothing from outside the raw folder, anywhere
    for folder in (wh, home):
        for path in folder.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                for text in PERSONAL:
                    assert text.encode() not in data, (path, text)
    # as readable as the umask allows
    for path in [*wh.rglob("*.parquet"), wh / "koryu.sqlite"]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


def test_a_200000_row_export_goes_through(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    ages = ["20代", "30代", "40代", "50代以上"]
    start = datetime(2023, 11, 10, 9, 0)
    rows = [
        base_hires(age_band=ages[n % 4], タイムスタンプ=start + timedelta(seconds=n))
        for n in range(200_000)
    ]
    write_google_csv(raw / "hires" / "2023" / "big.csv", rows)
    del rows
    facts = ingest_wave(get_codebook(), raw, "2023")
    files = facts.table("quarantine/files")
    assert files[["rows", "accepted", "rejected"]].values.tolist() == [[200_000, 200_000, 0]]
    assert len(facts.table("facts/respondents")) == 200_000
