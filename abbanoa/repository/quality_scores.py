"""Data-quality scores per node, metric and local day (table data_quality), as the
data_quality job writes them: every row in one COPY and one upsert."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import sqlalchemy as sa

from abbanoa.stores import postgres

COLUMNS = [
    "node_id", "metric", "day", "expected", "received", "completeness", "validity", "staleness_s",
    "consistency", "duplicates", "score", "details", "computed_at",
]  # fmt: skip


def upsert(conn: sa.Connection, quality: pd.DataFrame, now: dt.datetime) -> int:
    """Insert or replace the rows of `quality` (analytics.data_quality.daily_quality)."""
    if quality.empty:
        return 0
    details = [
        json.dumps({"interval_s": float(i), "totalizer_backwards": int(b)})
        for i, b in zip(quality["interval_s"], quality["backwards"], strict=True)
    ]
    frame = quality.assign(details=details, computed_at=now, duplicates=quality["duplicates"].astype(int))
    conn.execute(sa.text("CREATE TEMP TABLE dq_load (LIKE data_quality INCLUDING DEFAULTS) ON COMMIT DROP"))
    rows = frame[COLUMNS].astype(object).where(frame[COLUMNS].notna(), None).itertuples(index=False, name=None)
    postgres.copy_rows(conn, "dq_load", COLUMNS, rows)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS[3:])
    conn.execute(
        sa.text(
            f"INSERT INTO data_quality ({', '.join(COLUMNS)}) SELECT {', '.join(COLUMNS)} FROM dq_load"
            f" ON CONFLICT (node_id, metric, day) DO UPDATE SET {updates}"
        )
    )
    conn.execute(sa.text("DROP TABLE dq_load"))
    return len(frame)
