"""The report's Japanese font: IPAexGothic, as shipped by the `matplotlib-fontja` wheel.

One font file everywhere (developers, CI, the nightly run) means the charts are laid out with
the same metrics they are rendered with, and nothing is fetched at run time. The HTML embeds a
subset holding only the glyphs it uses; the layout code measures text with `text_width`.
"""

from __future__ import annotations

import importlib.util
import io
import unicodedata
from functools import cache
from pathlib import Path

from fontTools.subset import Options, Subsetter
from fontTools.ttLib import TTFont

# The name the HTML gives the embedded subset: not a system font's name, so a browser can
# only draw it from the embedded file (the browser test relies on that).
FAMILY = "KoryuGothic"
# What the PowerPoint and Excel files name: IPAexGothic where installed, else the viewer's
# own Japanese UI font (both files keep their text as text).
OFFICE_FONT = "IPAexGothic"
_PACKAGE = "matplotlib_fontja"
_FILE = "fonts/ipaexg.ttf"


def font_path() -> Path:
    """Where the installed matplotlib-fontja keeps IPAexGothic (without importing it: its
    import sets matplotlib up, which the report does not use)."""
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"{_PACKAGE} is not installed: pip install -e . installs it")
    path = Path(next(iter(spec.submodule_search_locations))) / _FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the {_PACKAGE} install")
    return path


@cache
def _font() -> TTFont:
    # recalcTimestamp=False: the subset's head table keeps the font's own date (determinism)
    return TTFont(font_path(), recalcTimestamp=False, lazy=False)


@cache
def _advances() -> tuple[dict[int, int], int]:
    font = _font()
    cmap = font.getBestCmap()
    hmtx = font["hmtx"].metrics
    return {cp: hmtx[name][0] for cp, name in cmap.items()}, font["head"].unitsPerEm


def _units(text: str) -> int:
    """Advance width of `text` in font units (a missing glyph counts 1 em)."""
    widths, upem = _advances()
    return sum(widths.get(ord(c), upem) for c in text)


def text_width(text: str, size: float) -> float:
    """Advance width of `text` at `size` px in IPAexGothic (a missing glyph counts 1 em)."""
    return _units(text) * size / _advances()[1]


_NO_BREAK_BEFORE = set("、。，．・：；？！ー」』）】〕］｝〉》％%)]}.,:;!?")
_NO_BREAK_AFTER = set("「『（【〔［｛〈《([{")


def _cut(line: str, nxt: str) -> int:
    """Where to break `line` when `nxt` does not fit after it (Japanese line-breaking: no
    、。」） at a line start, no 「（ at a line end; Latin words and figures stay whole)."""
    cut = len(line)
    if nxt.isascii() and nxt.isalnum():
        while cut > 1 and line[cut - 1].isascii() and line[cut - 1].isalnum():
            cut -= 1
        if cut <= 1:
            cut = len(line)
    if nxt in _NO_BREAK_BEFORE and cut > 1:
        cut -= 1
    while cut > 1 and line[cut - 1] in _NO_BREAK_AFTER:
        cut -= 1
    return cut


def wrap(text: str, width: float, size: float) -> list[str]:
    """Lines of `text`, each no wider than `width` at `size` (unless one character is)."""
    upem = _advances()[1]
    lines: list[str] = []
    line, units = "", 0  # the line so far and its _units, kept as it grows
    for ch in text:
        advance = _units(ch)
        if line and (units + advance) * size / upem > width:  # text_width(line + ch, size)
            cut = _cut(line, ch)
            lines.append(line[:cut])
            line = line[cut:]
            units = _units(line)
        line += ch
        units += advance
    if line:
        lines.append(line)
    return lines


def subset_woff(text: str) -> bytes:
    """A WOFF font with exactly the glyphs `text` needs (plus ASCII and full-width digits,
    so figures never fall back), deterministic for the same text."""
    chars = set(text) | {chr(c) for c in range(0x20, 0x7F)} | set("０１２３４５６７８９％～")
    unicodes = sorted(ord(c) for c in chars if unicodedata.category(c)[0] != "C")
    font = TTFont(font_path(), recalcTimestamp=False)
    options = Options()
    options.flavor = "woff"
    options.name_IDs = ["*"]  # keep the licence and copyright names with the glyphs
    options.drop_tables += ["DSIG"]
    subsetter = Subsetter(options)
    subsetter.populate(unicodes=unicodes)
    subsetter.subset(font)
    font.flavor = "woff"
    out = io.BytesIO()
    font.save(out, reorderTables=True)
    return out.getvalue()
