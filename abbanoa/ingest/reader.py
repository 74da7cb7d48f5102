"""Read a delimited file in chunks of rows, keeping line numbers and the raw text, and
setting aside the lines that are not rows of the expected shape (malformed_row)."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

MALFORMED_ROW = "malformed_row"


@dataclass
class Chunk:
    """Up to `chunk_rows` lines of a file: the well-formed ones as a frame of strings
    (the header's columns + `line_no` + `raw`) and the malformed ones."""

    frame: pd.DataFrame
    malformed: list[tuple[int, str, str]] = field(default_factory=list)  # (line_no, raw, detail)
    bytes_read: int = 0


def iter_chunks(
    path: Path,
    columns: tuple[str, ...],
    *,
    delimiter: str = ",",
    header_lines: int = 1,
    chunk_rows: int = 50_000,
    encoding: str = "utf-8",
) -> Iterator[Chunk]:
    """Yield the file's data lines as Chunks; constant memory whatever the file size."""
    width = len(columns)
    with path.open("rb") as handle:
        line_no = 0
        for _ in range(header_lines):
            handle.readline()
            line_no += 1
        while True:
            lines = list(itertools.islice(handle, chunk_rows))
            if not lines:
                return
            first_no = line_no + 1
            line_no += len(lines)
            yield _parse(lines, first_no, columns, width, delimiter, encoding)


def _parse(lines, first_no, columns, width, delimiter, encoding) -> Chunk:
    malformed: list[tuple[int, str, str]] = []
    texts: list[str] = []
    numbers: list[int] = []
    size = 0
    for offset, data in enumerate(lines):
        size += len(data)
        try:
            text = data.decode(encoding).rstrip("\r\n")
        except UnicodeDecodeError as exc:
            raw = data.decode(encoding, errors="replace").rstrip("\r\n")
            malformed.append((first_no + offset, raw, f"not valid {encoding} text ({exc.reason})"))
            continue
        if not text.strip():
            continue  # a blank line is not a row
        texts.append(text)
        numbers.append(first_no + offset)

    rows = list(csv.reader(texts, delimiter=delimiter))
    if len(rows) != len(texts):  # an unbalanced quote swallowed a line: parse one by one
        rows = [_parse_one(text, delimiter) for text in texts]
    good_rows, good_numbers, good_texts = [], [], []
    for number, text, row in zip(numbers, texts, rows, strict=True):
        if row is not None and len(row) == width:
            good_rows.append(row)
            good_numbers.append(number)
            good_texts.append(text)
        else:
            found = "unparseable quoting" if row is None else f"{len(row)} fields"
            malformed.append((number, text, f"expected {width} fields, found {found}"))
    if good_rows:
        cells = list(zip(*good_rows, strict=True))
        frame = pd.DataFrame({name: cells[i] for i, name in enumerate(columns)}, dtype=object)
    else:
        frame = pd.DataFrame({name: pd.Series([], dtype=object) for name in columns})
    frame["line_no"] = pd.array(good_numbers, dtype="int64")
    frame["raw"] = pd.Series(good_texts, dtype=object)
    return Chunk(frame=frame, malformed=malformed, bytes_read=size)


def _parse_one(text: str, delimiter: str) -> list[str] | None:
    try:
        rows = list(csv.reader([text], delimiter=delimiter, strict=True))
    except csv.Error:
        return None
    return rows[0] if len(rows) == 1 else None
