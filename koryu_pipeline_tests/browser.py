"""Debian's Chromium as the browser tests launch it (Playwright drives it; its own browser
download is never used). Without the background-networking flags Chromium keeps trying hosts
this closed network refuses."""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
