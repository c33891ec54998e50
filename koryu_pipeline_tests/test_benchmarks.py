"""The scale benchmark's export generator (benchmarks/scale_exports.py) writes valid exports:
the exact bytes of the shared writer, and every row accepted by the readers and validation.
No timing here: `make bench-scale` measures."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from benchmarks import scale_exports as gen
from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.ingest.wave import ingest_wave
from koryu_pipeline.warehouse.tables import FILES, REJECTIONS


def _write_raw(raw: Path, hires_rows: int, ministry_rows: int) -> tuple[Path, Path]:
    hires = gen.write_hires_csv(raw / "hires" / gen.WAVE / "hires.csv", gen.hires(hires_rows))
    ministry = raw / "ministry" / gen.WAVE / "ministry.xlsx"
    ministry.parent.mkdir(parents=True)
    ministry.write_bytes(gen.ministry_xlsx_bytes(gen.ministry(ministry_rows)))
    return hires, ministry


def _files_and_rejections(raw: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    facts = ingest_wave(get_codebook(), raw, gen.WAVE)
    return facts.table(FILES), facts.table(REJECTIONS)


def test_direct_csv_is_the_shared_writers_bytes(tmp_path: Path) -> None:
    dealt = gen.hires(50)
    path = gen.write_hires_csv(tmp_path / "h.csv", dealt)
    assert path.read_bytes() == gen.hires_csv_via_writer(dealt)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")


def test_generation_is_deterministic(tmp_path: Path) -> None:
    a = gen.write_hires_csv(tmp_path / "a.csv", gen.hires(50)).read_bytes()
    b = gen.write_hires_csv(tmp_path / "b.csv", gen.hires(50)).read_bytes()
    assert a == b
    assert gen.ministry_xlsx_bytes(gen.ministry(20)) == gen.ministry_xlsx_bytes(gen.ministry(20))


def test_every_generated_row_is_accepted(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    hires, _ = _write_raw(raw, 50, 20)
    files, rejections = _files_and_rejections(raw)
    assert rejections.empty, rejections[["source_file", "rule", "column"]].to_string()
    by_file = files.set_index("source_file")
    assert by_file.loc["hires/2023/hires.csv", ["rows", "accepted"]].tolist() == [50, 50]
    assert by_file.loc["ministry/2023/ministry.xlsx", ["rows", "accepted"]].tolist() == [20, 20]

    # the 1% append of the benchmark adds new responses, all valid too
    gen.append_hires(hires, 50, 5)
    files, rejections = _files_and_rejections(raw)
    assert rejections.empty, rejections[["source_file", "rule", "column"]].to_string()
    by_file = files.set_index("source_file")
    assert by_file.loc["hires/2023/hires.csv", ["rows", "accepted"]].tolist() == [55, 55]


def test_ministry_answers_follow_routing() -> None:
    dealt = gen.ministry(200)
    form = dealt.form
    for i in range(len(dealt)):
        answers = dealt.answers(i)
        for entry in form.entries:
            shown = all(
                any(
                    label in values
                    for label in gen._labels(answers[dep])  # a single label or a choice set
                )
                for dep, values in entry.asked_if
            )
            cols = [it.item_id for it in entry.items] or [entry.id]
            assert all((answers[c] is not None) == shown for c in cols), (i, entry.id)
