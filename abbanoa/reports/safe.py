"""What every export passes its text through: spreadsheet cells that cannot run as formulas
and download names that cannot break an HTTP header.

A CSV cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is read by Excel,
LibreOffice and Google Sheets as a formula (OWASP "CSV Injection"): such a string gets a
leading `'`, which the spreadsheet shows as text. In an Excel workbook every string is
written as a text cell (openpyxl would otherwise store a string starting with `=` as a
formula), so it shows exactly as stored. Numbers, dates and None pass unchanged.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    """The value as a CSV/Excel cell that a spreadsheet shows as written."""
    if isinstance(value, str) and value.startswith(FORMULA_LEADS):
        return "'" + value
    return value


def row(values: dict[str, Any]) -> dict[str, Any]:
    return {k: cell(v) for k, v in values.items()}


def append_row(sheet, values: list[Any]) -> None:
    """Append a row to an openpyxl worksheet with every string as a text cell, never a formula."""
    sheet.append(values)
    for target, value in zip(sheet[sheet.max_row], values, strict=False):
        if isinstance(value, str):
            target.data_type = "s"


def content_disposition(filename: str, kind: str = "attachment") -> str:
    """An RFC 6266 header value: an ASCII fallback `filename` (unsafe characters replaced by
    `_`) and the exact name as RFC 5987 `filename*` (percent-encoded UTF-8)."""
    fallback = re.sub(r"[^A-Za-z0-9._-]", "_", filename)[:150] or "download"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
