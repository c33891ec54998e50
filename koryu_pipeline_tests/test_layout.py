"""The layout shows the data's path: no module imports from a later stage, and the README's
map names the packages `ls koryu_pipeline` shows, in the same order."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "koryu_pipeline"
README = PACKAGE.parent / "README.md"

# Foundations first (what the survey and the tables are), then the data's path; the
# Dagster wiring and the entry points may import anything.
STAGE = {
    "codebook": 0,
    "settings": 0,
    "warehouse": 1,
    "ingest": 2,
    "marts": 3,
    "demo": 3,  # writes exports the readers read: after ingest, beside the marts
    "report": 4,
    "defs": 5,
    "instance": 5,  # Dagster's instance settings (the event log store `koryu run` sets up)
    "definitions": 6,
    "faults": 6,
    "status": 6,
    "cli": 6,
}


def _stage(module: str) -> str:
    return module.split(".")[1] if module.count(".") else "__init__"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m.startswith("koryu_pipeline.")}


def test_every_top_level_module_has_a_stage() -> None:
    names = {p.stem for p in PACKAGE.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()}
    assert names - {"__init__"} <= set(STAGE)


def test_no_module_imports_a_later_stage() -> None:
    backwards = []
    for path in sorted(PACKAGE.rglob("*.py")):
        own = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        for module in _imports(path):
            other = _stage(module)
            if STAGE[other] > STAGE[own]:
                backwards.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert not backwards, "\n".join(backwards)


def test_readme_map_follows_ls() -> None:
    text = README.read_text(encoding="utf-8")
    block = text.split("## How it is built", 1)[1].split("```")[1]
    mapped = re.findall(r"^  ([a-z_]+)(?:/|\.py)", block, flags=re.M)
    listed = sorted(
        p.name.removesuffix(".py")
        for p in PACKAGE.iterdir()
        if p.name != "__init__.py" and (p.suffix == ".py" or (p / "__init__.py").exists())
    )
    assert mapped == listed
