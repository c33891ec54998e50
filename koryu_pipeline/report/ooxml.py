"""Byte-identical Office files: the same input must give the same .pptx and .xlsx.

python-pptx stamps zip entries with the time of writing, and the workbook it embeds in each
chart (written by XlsxWriter) records its creation time. Both are replaced by the report's
own date (the wave's fielding close), recursively for embedded workbooks.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime

_CORE = "docProps/core.xml"
_STAMP = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def deterministic_zip(blob: bytes, when: datetime) -> bytes:
    """`blob` (an OOXML package) rewritten with fixed entry times and document dates."""
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    src = zipfile.ZipFile(io.BytesIO(blob))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == _CORE:
                data = _STAMP.sub(rb"\g<1>" + stamp + rb"\g<2>", data)
            elif info.filename.endswith((".xlsx", ".pptx", ".docx")):
                data = deterministic_zip(data, when)
            entry = zipfile.ZipInfo(info.filename, date_time=when.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.create_system = 0
            entry.external_attr = 0
            dst.writestr(entry, data, compresslevel=6)
    return out.getvalue()
