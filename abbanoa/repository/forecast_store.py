"""The demand forecast's rows: forecasts upserted, which series belong to which tenant, the
forecasts whose horizon has passed unscored, and their accuracy."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa


def upsert(conn: sa.Connection, rows: list[dict]) -> None:
    """Upsert forecast rows (a rerun for the same generation time replaces its values)."""
    if rows:
        conn.execute(
            sa.text(
                "INSERT INTO forecasts (node_id, metric, model, generated_at, forecast_ts, value, lower_bound, "
                "upper_bound, confidence) VALUES (:node_id, :metric, :model, :generated_at, :forecast_ts, :value, "
                ":lower, :upper, :confidence) ON CONFLICT (node_id, metric, model, generated_at, forecast_ts) "
                "DO UPDATE SET value = EXCLUDED.value, lower_bound = EXCLUDED.lower_bound, "
                "upper_bound = EXCLUDED.upper_bound"
            ),
            rows,
        )


def series_tenants(conn: sa.Connection) -> dict[str, str]:
    """Every forecast series (`dma:<district>` and node ids) -> its tenant."""
    tenants = dict(conn.execute(sa.text("SELECT 'dma:' || district_id, tenant_id FROM districts")).all())
    tenants.update(conn.execute(sa.text("SELECT node_id, tenant_id FROM nodes")).all())
    return tenants


def unscored(conn: sa.Connection, now: dt.datetime) -> pd.DataFrame:
    """Forecast rows whose 7-day horizon has passed and that have no accuracy row yet."""
    return pd.read_sql_query(
        sa.text(
            "SELECT f.node_id, f.metric, f.model, f.generated_at, f.forecast_ts, f.value, f.lower_bound, f.upper_bound "
            "FROM forecasts f WHERE f.generated_at <= CAST(:now AS timestamptz) - interval '7 days' "
            "AND NOT EXISTS (SELECT 1 FROM forecast_accuracy a WHERE a.node_id = f.node_id AND a.metric = f.metric "
            "AND a.model = f.model AND a.generated_at = f.generated_at)"
        ),
        conn,
        params={"now": now},
    )


def record_accuracy(conn: sa.Connection, node_id: str, metric: str, model: str, generated_at, r) -> None:
    """One forecast's accuracy (a forecast.score row); a second record of it is ignored."""
    conn.execute(
        sa.text(
            "INSERT INTO forecast_accuracy (node_id, metric, model, generated_at, points, mae, mape, coverage) "
            "VALUES (:n, :m, :model, :g, :p, :mae, :mape, :cov) ON CONFLICT DO NOTHING"
        ),
        {
            "n": node_id,
            "m": metric,
            "model": model,
            "g": generated_at,
            "p": int(r.points),
            "mae": float(r.mae),
            "mape": None if pd.isna(r.mape) else float(r.mape),
            "cov": float(r.coverage),
        },
    )
