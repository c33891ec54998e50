"""The forms as data: see model.py."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from koryu_pipeline.codebook.model import (
    CHOICE_TYPES,
    MULTI_TYPES,
    Codebook,
    CodebookError,
    Crosswalk,
    Entry,
    Field,
    Form,
    Item,
    Option,
    load_codebook,
    normalise_text,
)

__all__ = [
    "CHOICE_TYPES",
    "MULTI_TYPES",
    "Codebook",
    "CodebookError",
    "Crosswalk",
    "Entry",
    "Field",
    "Form",
    "Item",
    "Option",
    "get_codebook",
    "load_codebook",
    "normalise_text",
]


@lru_cache(maxsize=4)
def _cached(extra: str) -> Codebook:
    return load_codebook(*(Path(p) for p in extra.split(os.pathsep) if p))


def get_codebook() -> Codebook:
    """The codebook, loaded and validated once per process. KORYU_CODEBOOK_DIR may name
    extra folders of form files (a new wave) without touching the package."""
    return _cached(os.environ.get("KORYU_CODEBOOK_DIR", ""))
