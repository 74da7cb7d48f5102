"""The quarantine: every rejected row, with its reason, in the warehouse `quarantine`
table AND the PostgreSQL `quarantine` table. A row's fingerprint (file name, line, raw
text, part) is unique in both, so importing the same file again adds nothing."""

from __future__ import annotations

import datetime as dt
import hashlib

import pandas as pd
import sqlalchemy as sa

from abbanoa.ingest.staging import Staging
from abbanoa.stores.bigquery import Warehouse

COLUMNS = ("quarantined_at", "tenant_id", "source", "line_no", "reason", "detail", "raw", "fingerprint")
# The raw text kept of a rejected line: a 10 MB line is kept as its first RAW_LIMIT
# characters plus its length (the warehouse's CSV loads refuse lines over 2 MB; the
# fingerprint is still of the whole line, so a re-import matches it).
RAW_LIMIT = 8_192


def kept_raw(text: str) -> str:
    text = str(text)
    if len(text) <= RAW_LIMIT:
        return text
    return f"{text[:RAW_LIMIT]}... [line of {len(text)} characters, truncated]"


def fingerprint(source: str, line_no: int, raw: str, part: str = "") -> str:
    """Stable id of a rejected row: the same row of the same file always gets the same one."""
    key = "\x1f".join((source, str(line_no), raw, part))
    return hashlib.sha256(key.encode("utf-8", errors="replace")).hexdigest()


class QuarantineWriter:
    """Collects one file's rejected rows: PostgreSQL at once (ON CONFLICT DO NOTHING),
    the warehouse through a staging table merged on the fingerprint at the end. When the
    import fails before that merge, the rows this import added to PostgreSQL are taken out
    again (`discard`), so both quarantines stay the same."""

    def __init__(self, warehouse: Warehouse, conn_factory, source: str, tenant_id: str, now: dt.datetime):
        self.warehouse = warehouse
        self.conn_factory = conn_factory
        self.source = source
        self.tenant_id = tenant_id
        self.now = now
        self.stage = Staging(warehouse, "quarantine")
        self.new_in_postgres = 0
        self.finished = False

    def add(self, rejected: pd.DataFrame) -> None:
        """rejected: line_no, raw, reason, detail (and optionally part)."""
        if rejected.empty:
            return
        parts = rejected["part"] if "part" in rejected else [""] * len(rejected)
        rows = pd.DataFrame(
            {
                "quarantined_at": self.now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "tenant_id": self.tenant_id,
                "source": self.source,
                "line_no": rejected["line_no"].astype("int64").to_numpy(),
                "reason": rejected["reason"].to_numpy(),
                "detail": rejected["detail"].to_numpy(),
                "raw": [kept_raw(r) for r in rejected["raw"]],
                "fingerprint": [
                    fingerprint(self.source, int(n), str(r), str(p))
                    for n, r, p in zip(rejected["line_no"], rejected["raw"], parts, strict=True)
                ],
            }
        )
        self._to_postgres(rows)
        self.stage.append(rows)

    def _to_postgres(self, rows: pd.DataFrame) -> None:
        sql = sa.text(
            "INSERT INTO quarantine"
            " (quarantined_at, tenant_id, source, line_no, reason, detail, raw, fingerprint) "
            "SELECT :at, :tenant, :source, * FROM unnest("
            "CAST(:line_no AS bigint[]), CAST(:reason AS text[]), CAST(:detail AS text[]), "
            "CAST(:raw AS text[]), CAST(:fingerprint AS text[])) "
            "ON CONFLICT (fingerprint) DO NOTHING"
        )
        with self.conn_factory() as conn:
            result = conn.execute(
                sql,
                {
                    "at": self.now,
                    "tenant": self.tenant_id,
                    "source": self.source,
                    "line_no": [int(n) for n in rows["line_no"]],
                    "reason": rows["reason"].tolist(),
                    "detail": rows["detail"].tolist(),
                    "raw": [_no_nul(r) for r in rows["raw"]],
                    "fingerprint": rows["fingerprint"].tolist(),
                },
            )
            self.new_in_postgres += result.rowcount

    def finish(self) -> int:
        """Merge the staged rows into the warehouse quarantine; returns the rows added there."""
        added = self.stage.merge_into("quarantine", keys=("fingerprint",), columns=COLUMNS, order_by="line_no")
        self.finished = True
        return added

    def discard(self) -> None:
        """Drop the staging table; if the warehouse merge did not happen, remove this
        import's rows from the PostgreSQL quarantine (the rows it added: its own time stamp)."""
        try:
            self.stage.drop()
        finally:
            if not self.finished and self.new_in_postgres:
                with self.conn_factory() as conn:
                    conn.execute(
                        sa.text("DELETE FROM quarantine WHERE source = :s AND tenant_id = :t AND quarantined_at = :at"),
                        {"s": self.source, "t": self.tenant_id, "at": self.now},
                    )
                self.new_in_postgres = 0


def _no_nul(text: str) -> str:
    return str(text).replace("\x00", "\\x00")  # PostgreSQL text cannot hold NUL
