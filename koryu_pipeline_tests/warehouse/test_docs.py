"""docs/warehouse.md and the table registry agree: the doc's table reference is exactly what
the registry renders (`koryu docs` rewrites it)."""

from __future__ import annotations

from pathlib import Path

from koryu_pipeline.codebook import get_codebook
from koryu_pipeline.warehouse.docs import BEGIN, END, render_reference, with_reference
from koryu_pipeline.warehouse.tables import table_registry

DOC = Path(__file__).resolve().parents[2] / "docs" / "warehouse.md"


def test_doc_reference_matches_the_registry() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert with_reference(text, table_registry(get_codebook())) == text, (
        "docs/warehouse.md's table reference is stale: run `koryu docs`"
    )


def test_every_table_and_column_is_in_the_doc() -> None:
    registry = table_registry(get_codebook())
    reference = render_reference(registry)
    for spec in registry.values():
        assert f"`{spec.key}`" in reference, spec.key
        for c in spec.columns:
            assert f"| `{c.name}` |" in reference, (spec.key, c.name)


def test_a_changed_table_shows_as_a_changed_doc() -> None:
    registry = dict(table_registry(get_codebook()))
    text = DOC.read_text(encoding="utf-8")
    registry.pop("marts/comparisons/waves")
    assert with_reference(text, registry) != text
    # the hand-written prose around the markers is kept
    head, tail = text.split(BEGIN)[0], text.split(END)[1]
    assert with_reference(text, registry).startswith(head)
    assert with_reference(text, registry).endswith(tail)
