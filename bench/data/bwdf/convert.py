"""Convert the BWDF 2024 release's Excel files into the compact CSVs kept here.

Run once, from the repository root, with the release's folder as argument:
    .venv/bin/python bench/data/bwdf/convert.py /path/to/bwdf
Values are copied as they are (the release's 'NaN' cells become empty fields); the
date-time column keeps the release's local wall-clock text, so the repeated autumn hour
appears twice, in file order, as in the original.
"""

from __future__ import annotations

import csv
import gzip
import sys
from pathlib import Path

import openpyxl

HERE = Path(__file__).parent


def _cell(v) -> str:
    if v is None or (isinstance(v, str) and v.strip().lower() == "nan"):
        return ""
    return v if isinstance(v, str) else repr(float(v))


def convert_sheet(ws, out: csv.writer, prefix: list[str] | None = None, header: bool = True) -> None:
    for i, row in enumerate(ws.iter_rows(values_only=True)):
        if i == 0:
            if header:
                out.writerow((["rank"] if prefix is not None else []) + list(row))
            continue
        if row[0] is None:
            continue
        out.writerow((prefix or []) + [_cell(c) for c in row])


def main(source: Path) -> None:
    wb = openpyxl.load_workbook(source / "InflowData.xlsx", read_only=True)
    with gzip.open(HERE / "inflow.csv.gz", "wt", newline="", compresslevel=9) as f:
        convert_sheet(wb.worksheets[0], csv.writer(f))
    wb = openpyxl.load_workbook(source / "BWDFCompetitorsSolutions.xlsx", read_only=True)
    with gzip.open(HERE / "solutions.csv.gz", "wt", newline="", compresslevel=9) as f:
        writer = csv.writer(f)
        for k, ws in enumerate(wb.worksheets):
            rank = ws.title.rsplit(" ", 1)[-1]
            convert_sheet(ws, writer, prefix=[rank], header=k == 0)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
