"""Import files into the platform: the orchestration of detection, validation, loading
and quarantine (docs/import.md). `import_paths` is the Python API; cli.py the command."""

from __future__ import annotations

import datetime as dt
import sys
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from abbanoa.errors import AbbanoaError
from abbanoa.ingest import corrections, formats, registry, selargius
from abbanoa.ingest.quarantine import QuarantineWriter
from abbanoa.ingest.reader import MALFORMED_ROW, iter_chunks
from abbanoa.ingest.staging import Staging, iso_utc
from abbanoa.ingest.validation import validate_readings
from abbanoa.settings import Settings
from abbanoa.stores import postgres
from abbanoa.stores.bigquery import Warehouse

CHUNK_ROWS = 50_000
REGISTRY_CHUNK_ROWS = 1_000_000
READING_COLUMNS = ("ts", "node_id", "metric", "value", "unit", "ingested_at", "source")


@dataclass
class FileSummary:
    """What importing one file did. For a Selargius report a row is a report line
    (one time step); `loaded` and `duplicates` count readings (cells)."""

    path: str
    kind: str
    rows_read: int = 0
    loaded: int = 0
    duplicates: int = 0
    quarantined: Counter = field(default_factory=Counter)
    quarantine_added: int = 0  # rows new to the PostgreSQL quarantine (0 on a re-import)
    empty_cells: int = 0
    corrected: int = 0  # --corrections: readings whose value changed (audited in reading_corrections)


@dataclass
class ImportSummary:
    tenant_id: str
    ingested_at: dt.datetime
    files: list[FileSummary] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # files of a directory with an unknown header

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def loaded(self) -> int:
        return sum(f.loaded for f in self.files)

    @property
    def duplicates(self) -> int:
        return sum(f.duplicates for f in self.files)

    @property
    def quarantined(self) -> Counter:
        total: Counter = Counter()
        for f in self.files:
            total.update(f.quarantined)
        return total

    @property
    def quarantine_added(self) -> int:
        return sum(f.quarantine_added for f in self.files)

    def lines(self) -> list[str]:
        """The summary as printed by the CLI."""
        out = [f"{path}: skipped (not a known kind of file)" for path in self.skipped]
        for f in self.files:
            quarantined = sum(f.quarantined.values())
            extra = f", {f.empty_cells} empty cells" if f.empty_cells else ""
            extra += f", {f.corrected} corrected" if f.corrected else ""
            out.append(
                f"{f.path} ({f.kind}): {f.rows_read} rows read, {f.loaded} loaded, "
                f"{f.duplicates} duplicates, {quarantined} quarantined{extra}"
            )
        reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(self.quarantined.items())) or "none"
        out.append(
            f"total for tenant {self.tenant_id}: {self.rows_read} rows read, {self.loaded} loaded, "
            f"{self.duplicates} duplicates, {sum(self.quarantined.values())} quarantined "
            f"({self.quarantine_added} new to the quarantine)"
        )
        out.append(f"quarantined by reason: {reasons}")
        return out


def import_paths(
    paths,
    settings: Settings,
    tenant_id: str | None = None,
    *,
    now: dt.datetime | None = None,
    chunk_rows: int | None = None,
    progress: bool | None = None,
    corrections: bool = False,
    corrected_by: str | None = None,
) -> ImportSummary:
    """Import files of any accepted kind for a tenant; returns what was done. With
    `corrections`, a reading already held with another value is replaced (audited)."""
    tenant_id = tenant_id or settings.default_tenant
    kinds: dict[Path, str] = {}
    skipped: list[str] = []
    for given in map(Path, paths):
        if given.is_dir():  # a directory: its CSV files of a known kind (e.g. a simulator's output)
            for path in sorted(given.glob("*.csv")):
                kind = formats.kind_of_file(path)
                if kind is None:
                    skipped.append(str(path))
                else:
                    kinds[path] = kind
        else:
            kinds[given] = formats.detect_kind(given)  # every file checked before any write
    files = list(kinds)
    if not files:
        raise AbbanoaError(f"nothing to import in {', '.join(map(str, paths)) or 'no paths'}")
    ordered = sorted(files, key=lambda p: formats.IMPORT_ORDER.index(kinds[p]))
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    if progress is None:
        progress = sys.stderr.isatty()

    warehouse = _open_stores(settings)
    summary = ImportSummary(tenant_id=tenant_id, ingested_at=now, skipped=skipped)
    job = _Import(settings, warehouse, tenant_id, now, chunk_rows or CHUNK_ROWS, progress)
    if corrections:
        job.corrected_by = corrected_by or _who()
    for path in ordered:
        summary.files.append(job.run(path, kinds[path]))
    return summary


def _open_stores(settings: Settings) -> Warehouse:
    postgres.check(settings)
    with postgres.engine(settings).connect() as conn:
        ready = conn.execute(
            sa.text(
                "SELECT count(*) FROM information_schema.columns "
                "WHERE table_name = 'quarantine' AND column_name = 'tenant_id'"
            )
        ).scalar()
    if not ready:
        raise AbbanoaError("the database schema is not up to date: run `python -m abbanoa migrate` first")
    warehouse = Warehouse(settings)
    warehouse.check()
    warehouse.create_all()
    return warehouse


class _Import:
    def __init__(self, settings, warehouse, tenant_id, now, chunk_rows, progress):
        self.settings = settings
        self.warehouse = warehouse
        self.tenant_id = tenant_id
        self.now = now
        self.chunk_rows = chunk_rows
        self.progress = progress
        self._known: set[str] | None = None
        self.corrected_by: str | None = None  # set: corrections mode

    def transaction(self):
        return postgres.transaction(self.settings)

    def known_nodes(self) -> set[str]:
        if self._known is None:
            with self.transaction() as conn:
                self._known = registry.known_nodes(conn, self.warehouse, self.tenant_id)
        return self._known

    def run(self, path: Path, kind: str) -> FileSummary:
        summary = FileSummary(path=str(path), kind=kind)
        quarantine = QuarantineWriter(self.warehouse, self.transaction, path.name, self.tenant_id, self.now)
        with ExitStack() as cleanup:
            cleanup.callback(quarantine.discard)
            bar = cleanup.enter_context(_bar(path, self.progress))
            if kind == formats.READINGS:
                self._readings(path, summary, quarantine, bar)
            elif kind == formats.SELARGIUS:
                self._selargius(path, summary, quarantine, bar)
            else:
                self._registry(path, kind, summary, quarantine, bar)
            quarantine.finish()
        summary.quarantine_added = quarantine.new_in_postgres
        return summary

    # --- registry files ---------------------------------------------------------------

    def _registry(self, path, kind, summary, quarantine, bar) -> None:
        # one chunk for a whole registry file (they are small), so that a later line for
        # the same id replaces an earlier one wherever it is
        for chunk in iter_chunks(path, formats.HEADERS[kind], chunk_rows=REGISTRY_CHUNK_ROWS):
            summary.rows_read += len(chunk.frame) + len(chunk.malformed)
            self._malformed(chunk.malformed, summary, quarantine)
            parsed = registry.parse_frame(kind, chunk.with_raw())
            summary.duplicates += parsed.superseded
            self._apply_registry(kind, parsed, summary)
            rejected = pd.DataFrame(parsed.rejected, columns=["line_no", "raw", "reason", "detail"])
            summary.quarantined.update(rejected["reason"].tolist())
            quarantine.add(rejected)
            bar.update(chunk.bytes_read)

    def _apply_registry(self, kind, parsed, summary, *, only_missing=False) -> None:
        with self.transaction() as conn:
            registry.ensure_tenant(conn, self.tenant_id)
            registry.check_tenants(conn, kind, parsed, self.tenant_id)
            if kind == formats.DISTRICT_METERS:
                registry.check_meter_nodes(parsed, self.known_nodes())
            registry.to_postgres(conn, kind, parsed.rows, self.tenant_id, only_missing=only_missing)
        appended = registry.to_warehouse(
            self.warehouse, kind, parsed.rows, self.tenant_id, self.now, only_missing=only_missing
        )
        if kind == formats.NODES and self._known is not None:
            self._known.update(r["node_id"] for r in parsed.rows)
        summary.loaded += appended
        summary.duplicates += len(parsed.rows) - appended

    # --- readings ---------------------------------------------------------------------

    def _readings(self, path, summary, quarantine, bar) -> None:
        stage = Staging(self.warehouse, "readings")
        try:
            for chunk in iter_chunks(path, formats.HEADERS[formats.READINGS], chunk_rows=self.chunk_rows):
                summary.rows_read += len(chunk.frame) + len(chunk.malformed)
                self._malformed(chunk.malformed, summary, quarantine)
                self._validate_and_stage(chunk.frame, path, summary, quarantine, stage, chunk)
                bar.update(chunk.bytes_read)
            self._merge(stage, summary)
        finally:
            stage.drop()

    def _validate_and_stage(self, frame, path, summary, quarantine, stage, chunk=None) -> None:
        if frame.empty:
            return
        checked = validate_readings(frame, self.known_nodes(), self.now, self.settings.earliest_reading)
        rejected = checked.rejected
        if "raw" not in rejected and chunk is not None:
            rejected["raw"] = chunk.raw_of(rejected["line_no"])
        summary.quarantined.update(rejected["reason"].tolist())
        quarantine.add(rejected)
        valid = checked.valid
        if not valid.empty:
            first, last = valid["ts"].min().to_pydatetime(), valid["ts"].max().to_pydatetime()
            if stage.time_range is None:
                stage.time_range = ("ts", first, last)
            else:
                stage.time_range = ("ts", min(stage.time_range[1], first), max(stage.time_range[2], last))
            valid["ts"] = iso_utc(valid["ts"])
            valid["ingested_at"] = self.now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            valid["source"] = path.name
            stage.append(valid[[*READING_COLUMNS, "line_no"]])

    def _merge(self, stage: Staging, summary: FileSummary) -> None:
        if self.corrected_by is not None:
            return self._merge_corrections(stage, summary)
        staged = stage.rows
        inserted = stage.merge_into(
            "readings",
            keys=("node_id", "metric", "ts"),
            columns=READING_COLUMNS,
            order_by="line_no",
            time_range=stage.time_range,
        )
        summary.loaded += inserted
        summary.duplicates += staged - inserted
        self._record_batch(inserted, Path(summary.path).name)

    def _merge_corrections(self, stage: Staging, summary: FileSummary) -> None:
        """New readings are added; a reading held with another value gets a newer row (the
        newest wins everywhere), each change audited in reading_corrections in the same
        PostgreSQL transaction, committed only once the warehouse took the rows."""
        if stage.time_range is None:
            return
        staged = stage.rows
        keys = ("node_id", "metric", "ts")
        changes = [
            c for c in stage.changed_rows("readings", keys, "line_no", stage.time_range) if c["old_value"] is not None
        ]
        source = Path(summary.path).name
        with self.transaction() as conn:
            corrections.record(conn, self.tenant_id, changes, self.corrected_by, self.now, source)
            inserted = stage.insert_changed("readings", keys, READING_COLUMNS, "line_no", stage.time_range)
        summary.loaded += inserted
        summary.corrected += len(changes)
        summary.duplicates += staged - inserted
        self._record_batch(inserted, source)

    def _record_batch(self, rows: int, source: str) -> None:
        """The import ledger: after the commit, so the sync copies this batch whatever its
        ingestion time (abbanoa/jobs/realtime_sync.py)."""
        if rows:
            self.warehouse.load_rows(
                "ingest_batches",
                [{"ingested_at": self.now, "committed_at": dt.datetime.now(dt.UTC), "rows": rows, "source": source}],
            )

    def _malformed(self, malformed, summary, quarantine) -> None:
        if not malformed:
            return
        rejected = pd.DataFrame(malformed, columns=["line_no", "raw", "detail"])
        rejected["reason"] = MALFORMED_ROW
        summary.quarantined[MALFORMED_ROW] += len(rejected)
        quarantine.add(rejected)

    # --- Selargius SCADA report -------------------------------------------------------

    def _selargius(self, path, summary, quarantine, bar) -> None:
        encoding = _encoding_of(path, header_lines=2)
        with path.open(encoding=encoding, newline="") as handle:
            names = handle.readline().lstrip("\ufeff").rstrip("\r\n").split(";")
            second = handle.readline().rstrip("\r\n").split(";")
        header = ("DATA", "ORA", *(f"c{i}" for i in range(2, len(names))))
        if not selargius.has_units_row(second):
            # without its units row a report's values cannot be placed: every line is
            # quarantined, none is taken for units and none is lost
            return self._selargius_refused(path, header, encoding, summary, quarantine, bar)
        columns = selargius.parse_header(names, second)
        rows = selargius.registry_rows(columns)
        for kind in (formats.DISTRICTS, formats.NODES, formats.DISTRICT_METERS):
            # the report names its nodes: register the ones not known yet, keep the rest
            parsed = registry.Parsed(rows=[{**r, "_line": (0, "")} for r in rows[kind]])
            self._apply_registry(kind, parsed, FileSummary(path="", kind=kind), only_missing=True)
        self._known = None  # the report's nodes are known now
        chunks = lambda: iter_chunks(  # noqa: E731 - read twice: once to judge the number format
            path, header, delimiter=";", header_lines=2, chunk_rows=self.chunk_rows, encoding=encoding
        )
        convention = selargius.DecimalConvention()
        for chunk in chunks():
            for name in header[2:]:
                convention.see(chunk.frame[name])
        clock = selargius.LocalClock(self.settings.timezone)
        stage = Staging(self.warehouse, "readings")
        try:
            for chunk in chunks():
                summary.rows_read += len(chunk.frame) + len(chunk.malformed)
                self._malformed(chunk.malformed, summary, quarantine)
                if not chunk.frame.empty:
                    readings, rejected, empty = selargius.explode(chunk.with_raw(), columns, clock, convention)
                    summary.empty_cells += empty
                    summary.quarantined.update(rejected["reason"].tolist())
                    quarantine.add(rejected)
                    self._validate_and_stage(readings, path, summary, quarantine, stage)
                bar.update(chunk.bytes_read)
            self._merge(stage, summary)
        finally:
            stage.drop()

    def _selargius_refused(self, path, header, encoding, summary, quarantine, bar) -> None:
        for chunk in iter_chunks(
            path, header, delimiter=";", header_lines=1, chunk_rows=self.chunk_rows, encoding=encoding
        ):
            summary.rows_read += len(chunk.frame) + len(chunk.malformed)
            self._malformed(chunk.malformed, summary, quarantine)
            refused = chunk.with_raw()[["line_no", "raw"]]
            refused["reason"] = selargius.AMBIGUOUS_FORMAT
            refused["detail"] = "the report has no units row (line 2 is data): its values' units are unknown"
            summary.quarantined.update(refused["reason"].tolist())
            quarantine.add(refused)
            bar.update(chunk.bytes_read)


def _who() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment (container without passwd entry)
        return "unknown"


def _encoding_of(path: Path, header_lines: int) -> str:
    """UTF-8 unless the header is not (SCADA exports may be Windows-1252, e.g. '°C')."""
    with path.open("rb") as handle:
        head = b"".join(handle.readline() for _ in range(header_lines))
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1252"


class _NoBar:
    def update(self, n) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass


def _bar(path: Path, enabled: bool):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=path.stat().st_size, unit="B", unit_scale=True, desc=path.name, leave=False)
