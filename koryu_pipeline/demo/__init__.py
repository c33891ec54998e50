"""Deterministic, calibrated demo exports of the two 2023 surveys.

`assembly.write_demo_exports(raw_dir)` (the CLI's `koryu demo-data`) writes, under `raw_dir`,
exports shaped exactly like the ones the pipeline receives (see the header comments of the form
files), with answers dealt so that once the pipeline has rejected the documented defect rows,
49 ministry and 552 hires responses are accepted and every headline of the seed's results
summary holds (questionnaire.md). Counts are dealt exactly (no sampling noise) from the tables
`MINISTRY_COUNTS` / `HIRES_COUNTS`; only who gets which answer is random, from a fixed seed. No
wall-clock is read: running it twice gives byte-identical files.

Modules, in the order the exports are made:

- `calibration` -- the files, their documented defects and variants, the counts, organisations
  and dates the answers are dealt from (the file-by-file documentation is its docstring);
- `dealing` -- deals answers and submission times to responses, placing the defect rows;
- `writers` -- one writer per export format (Microsoft Forms .xlsx, Google Forms .csv), on the
  readers' header constants; the tests write their export files with them too;
- `assembly` -- spells the variant cells and writes each file: `build_demo_exports`,
  `write_demo_exports`.
"""
