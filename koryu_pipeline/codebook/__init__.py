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
    Mirror,
    Option,
    load_codebook,
    normalise_text,
    wave_number,
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
    "Mirror",
    "Option",
    "extra_form_dirs",
    "get_codebook",
    "load_codebook",
    "normalise_text",
    "wave_number",
]


EXTRA_FORMS_ENV = "KORYU_CODEBOOK_DIR"


def extra_form_dirs() -> tuple[Path, ...]:
    """Extra folders of form files (a new wave) named by KORYU_CODEBOOK_DIR (os.pathsep
    separated), read without touching the package."""
    return tuple(Path(p) for p in os.environ.get(EXTRA_FORMS_ENV, "").split(os.pathsep) if p)


@lru_cache(maxsize=4)
def _cached(extra: tuple[Path, ...]) -> Codebook:
    return load_codebook(*extra)


def get_codebook() -> Codebook:
    """The codebook (the package's forms plus any extra folders), loaded and validated once
    per process."""
    return _cached(extra_form_dirs())
