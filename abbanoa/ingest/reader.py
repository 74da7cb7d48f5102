"""Read a delimited file in chunks of rows, keeping line numbers, and setting aside the
lines that are not rows of the expected shape (malformed_row).

The common case is parsed by pyarrow into Arrow-backed string columns (no Python object
per cell); a chunk it cannot account for line by line (bad text encoding, a quote left
open) is parsed again by the csv module, one line at a time."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

MALFORMED_ROW = "malformed_row"


@dataclass
class Chunk:
    """Up to `chunk_rows` lines of a file: the well-formed ones as a frame of strings
    (the header's columns + `line_no`) and the malformed ones."""

    frame: pd.DataFrame
    malformed: list[tuple[int, str, str]] = field(default_factory=list)  # (line_no, raw, detail)
    bytes_read: int = 0
    lines: list[bytes] = field(default_factory=list, repr=False)
    first_no: int = 1
    encoding: str = "utf-8"

    def raw_of(self, line_numbers: Sequence[int]) -> list[str]:
        """The text of these lines as received (undecodable bytes replaced)."""
        return [
            self.lines[int(n) - self.first_no].decode(self.encoding, errors="replace").rstrip("\r\n")
            for n in line_numbers
        ]

    def with_raw(self) -> pd.DataFrame:
        """The frame with a `raw` column (for small files: registry, SCADA reports)."""
        frame = self.frame.copy()
        frame["raw"] = self.raw_of(frame["line_no"])
        return frame


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
            chunk = None
            if encoding.lower().replace("-", "") == "utf8":
                chunk = _parse_fast(lines, first_no, columns, delimiter)
            if chunk is None:
                chunk = _parse_slow(lines, first_no, columns, delimiter, encoding)
            chunk.bytes_read = sum(map(len, lines))
            chunk.lines, chunk.first_no, chunk.encoding = lines, first_no, encoding
            yield chunk


def _parse_fast(lines: list[bytes], first_no: int, columns, delimiter) -> Chunk | None:
    """pyarrow's parser; None when it cannot account for every line."""
    invalid: list[str] = []

    def on_invalid(row) -> str:
        invalid.append(row.text)
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(b"".join(lines)),
            read_options=pacsv.ReadOptions(column_names=list(columns), use_threads=False, block_size=1 << 28),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in columns},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    if not invalid:
        good = nonblank
        malformed = []
    else:
        if any("\n" in text for text in invalid):
            return None
        texts = {text.encode("utf-8") for text in invalid}
        bad = {i for i in nonblank if lines[i].rstrip(b"\r\n") in texts}
        good = [i for i in nonblank if i not in bad]
        width = len(columns)
        malformed = [
            (
                first_no + i,
                lines[i].decode("utf-8").rstrip("\r\n"),
                f"expected {width} fields, found {_field_count(lines[i], delimiter)}",
            )
            for i in sorted(bad)
        ]
    if len(good) != table.num_rows:
        return None
    frame = table.to_pandas(types_mapper=pd.ArrowDtype)
    frame["line_no"] = np.asarray(good, dtype="int64") + first_no
    return Chunk(frame=frame, malformed=malformed)


def _field_count(line: bytes, delimiter: str) -> str:
    row = _parse_one(line.decode("utf-8", errors="replace").rstrip("\r\n"), delimiter)
    return "unparseable quoting" if row is None else f"{len(row)} fields"


def _parse_slow(lines, first_no, columns, delimiter, encoding) -> Chunk:
    width = len(columns)
    malformed: list[tuple[int, str, str]] = []
    texts: list[str] = []
    numbers: list[int] = []
    for offset, data in enumerate(lines):
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

    good_rows, good_numbers = [], []
    for number, text in zip(numbers, texts, strict=True):
        row = _parse_one(text, delimiter)
        if row is not None and len(row) == width:
            good_rows.append(row)
            good_numbers.append(number)
        else:
            found = "unparseable quoting" if row is None else f"{len(row)} fields"
            malformed.append((number, text, f"expected {width} fields, found {found}"))
    if good_rows:
        frame = pd.DataFrame(good_rows, columns=list(columns), dtype=object)
    else:
        frame = pd.DataFrame({name: pd.Series([], dtype=object) for name in columns})
    frame["line_no"] = np.asarray(good_numbers, dtype="int64")
    malformed.sort()
    return Chunk(frame=frame, malformed=malformed)


def _parse_one(text: str, delimiter: str) -> list[str] | None:
    try:
        rows = list(csv.reader([text], delimiter=delimiter, strict=True))
    except csv.Error:
        return None
    return rows[0] if len(rows) == 1 else None
