"""network_efficiency's rows: which stored days are stale, the districts' parameters, the
stored hour rows of a month, and one-statement upserts of the job's results."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa

COLUMNS = [
    "district_id", "period", "period_start", "inflow_m3", "outflow_m3", "net_inflow_m3", "consumption_m3",
    "losses_m3", "mnf_l_s", "night_leakage_l_s", "leakage_m3_day", "nrw_pct", "real_losses_l_conn_day",
    "uarl_l_day", "ili", "m1a_m3_km_day", "m1b_pct", "coverage", "hours", "expected_hours", "samples", "partial",
]  # fmt: skip
DISTRICT_COLUMNS = (
    "district_id, tenant_id, mains_length_km, service_connections, private_pipe_km, avg_pressure_m, "
    "night_use_l_per_conn_h, night_day_factor_h, billed_consumption_m3_day"
)


def districts(conn: sa.Connection) -> pd.DataFrame:
    """Every district's balance parameters (mains length, connections, pressure, billing)."""
    return pd.read_sql_query(sa.text(f"SELECT {DISTRICT_COLUMNS} FROM districts"), conn)


def stale_days(conn: sa.Connection, before: dt.datetime) -> list[dt.datetime]:
    """Local day starts (UTC) before `before` whose stored day row is missing or was built
    from another number of meter samples than the daily rollup now holds."""
    rows = conn.execute(
        sa.text(
            "WITH have AS (SELECT m.district_id, r.bucket AS day, sum(r.n) AS samples FROM readings_1d r "
            "JOIN district_meters m ON m.node_id = r.node_id WHERE r.metric = 'flow_rate' AND r.bucket < :b "
            "GROUP BY 1, 2) "
            "SELECT DISTINCT h.day FROM have h LEFT JOIN network_efficiency e ON e.district_id = h.district_id "
            "AND e.period = 'day' AND e.period_start = h.day WHERE e.samples IS DISTINCT FROM h.samples ORDER BY 1"
        ),
        {"b": before},
    ).scalars()
    return [d.astimezone(dt.UTC) for d in rows]


def stored_hours(conn: sa.Connection, months: list[dt.datetime], tz: str) -> pd.DataFrame:
    """The stored hour rows of the given local months, as water_balance.hourly_net_inflow returns them."""
    frames = []
    zone = ZoneInfo(tz)
    for month in months:
        local = month.astimezone(zone).replace(tzinfo=None)
        nxt = (local.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        frames.append(
            pd.read_sql_query(
                sa.text(
                    "SELECT district_id, period_start AS bucket, inflow_m3, outflow_m3, net_inflow_m3, coverage, "
                    "COALESCE(samples, 0) AS samples FROM network_efficiency "
                    "WHERE period = 'hour' AND period_start >= :a AND period_start < :b"
                ),
                conn,
                params={"a": month, "b": nxt.replace(tzinfo=zone).astimezone(dt.UTC)},
            )
        )
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if not frame.empty:
        frame["bucket"] = pd.to_datetime(frame["bucket"], utc=True)
    return frame


def _records(results: pd.DataFrame) -> list[dict]:
    results = results.reindex(columns=COLUMNS)
    return [
        {k: (None if pd.isna(v) else (v.to_pydatetime() if isinstance(v, pd.Timestamp) else v)) for k, v in r.items()}
        for r in results.to_dict("records")
    ]


COLUMN_TYPES = {"district_id": "text", "period": "text", "period_start": "timestamptz", "hours": "integer",
                "expected_hours": "integer", "samples": "bigint", "partial": "boolean"}  # fmt: skip


def upsert(conn: sa.Connection, results: pd.DataFrame) -> None:
    """The result rows (hour, day or month) upserted in one statement (a JSON record set):
    thousands of hour rows per run would otherwise be thousands of round trips."""
    records = _records(results)
    if not records:
        return
    cols = ", ".join(COLUMNS)
    typed = ", ".join(f"{c} {COLUMN_TYPES.get(c, 'double precision')}" for c in COLUMNS)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS[3:])
    rows = json.dumps(records, default=lambda v: v.isoformat() if hasattr(v, "isoformat") else float(v))
    conn.execute(
        sa.text(
            f"INSERT INTO network_efficiency ({cols}) SELECT {cols} FROM jsonb_to_recordset(CAST(:rows AS jsonb)) "
            f"AS x({typed}) ON CONFLICT (district_id, period, period_start) DO UPDATE SET {updates}, "
            "computed_at = now()"
        ),
        {"rows": rows},
    )
