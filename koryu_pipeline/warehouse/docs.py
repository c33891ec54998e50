"""docs/warehouse.md's table reference, rendered from the registry.

The prose of the contract is written by hand; the list of tables and their columns is not:
it is generated between two marker lines, `koryu docs` rewrites it, and a test fails when
the file and the registry disagree. Tables generated per question or attribute are listed
once, with their keys.
"""

from __future__ import annotations

import re
from itertools import groupby
from pathlib import Path

from koryu_pipeline.warehouse.tables import Registry, TableSpec

BEGIN = "<!-- table reference: generated from warehouse/tables.py by `koryu docs` -->"
END = "<!-- end of table reference -->"

# keys generated from the codebook, shown as one pattern each
_PATTERNS = {
    "marts_questions": "marts/questions/<instrument>/<question_id>",
    "marts_breakdowns": "marts/breakdowns/<instrument>/<attribute>",
}


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def _section(specs: list[TableSpec]) -> list[str]:
    spec = specs[0]
    title = _PATTERNS.get(spec.group, spec.key) if len(specs) > 1 else spec.key
    lines = [f"### `{title}`", ""]
    if len(specs) > 1:
        lines += ["One table each: " + ", ".join(f"`{s.key}`" for s in specs) + ".", ""]
        description = re.sub(r"^\S+: ", "", spec.description)  # drop the one key it names
        if spec.group == "marts_questions":
            description = "One table per question of the codebook, by wave × item × option."
        lines += [description, ""]
    else:
        lines += [spec.description, ""]
    facts = [f"group `{spec.group}`"]
    facts.append("hive-partitioned `instrument=…/wave=…`" if spec.partitioned else "one file")
    if spec.unique:
        facts.append("unique on " + ", ".join(f"`{c}`" for c in spec.unique))
    if spec.sort_by:
        facts.append("sorted by " + ", ".join(f"`{c}`" for c in spec.sort_by))
    if spec.checks:
        facts.append("checks " + ", ".join(f"`{c.name}`" for c in spec.checks))
    lines += ["; ".join(facts).capitalize() + ".", ""]
    lines += ["| column | type | required | description |", "|---|---|---|---|"]
    for c in spec.columns:
        text = " / ".join(_cell(d) for d in (c.description_en, c.description_ja) if d)
        lines.append(f"| `{c.name}` | {c.type} | {'yes' if c.required else ''} | {text} |")
    return [*lines, ""]


def render_reference(registry: Registry) -> str:
    """The generated part of docs/warehouse.md, markers included."""
    out = [BEGIN, "", "## Table reference", ""]
    specs = list(registry.values())
    for _, group in groupby(specs, key=lambda s: _PATTERNS.get(s.group, s.key)):
        out += _section(list(group))
    return "\n".join([*out, END]) + "\n"


def with_reference(text: str, registry: Registry) -> str:
    """`text` with its table reference replaced (or appended when it has none)."""
    reference = render_reference(registry)
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        return head + reference + tail
    return text.rstrip("\n") + "\n\n" + reference


def update_doc(path: Path, registry: Registry) -> bool:
    """Rewrite the reference in the file at `path`; True when it changed."""
    text = path.read_text(encoding="utf-8")
    new = with_reference(text, registry)
    if new == text:
        return False
    path.write_text(new, encoding="utf-8")
    return True
