"""Which data-quality findings become alerts: a district whose series are nearly all stale
is one `stale_district` alert (its outstation or the feed is down), not one per sensor;
the other stale or broken series are one alert each. Pure: data in, alerts out."""

from __future__ import annotations

import pandas as pd

from abbanoa.analytics import silence
from abbanoa.analytics.data_quality import problems


def quality_alerts(quality: pd.DataFrame, latest: pd.DataFrame, registry: pd.DataFrame, today) -> list[dict]:
    """Alerts (tenant_id, idempotency_key, alert_type, severity, payload) for `quality`
    (daily_quality rows) on local day `today`; `registry`: node_id, tenant_id, district_id."""
    tenants = dict(zip(registry["node_id"], registry["tenant_id"], strict=True))
    district_of = registry.set_index("node_id")["district_id"]
    found = problems(quality, today)
    stale = found[found["problem"] == "stale_sensor"]
    known = pd.concat([quality[["node_id", "metric"]], latest[["node_id", "metric"]]], ignore_index=True)
    down = silence.districts_down(stale, known, district_of)
    quiet = stale["node_id"].map(district_of).isin(down)
    found = found.drop(index=stale.index[quiet])
    alerts = []
    for district_id, group in stale[quiet].groupby(stale[quiet]["node_id"].map(district_of)):
        alerts.append(
            {
                "tenant_id": tenants.get(group["node_id"].iloc[0]),
                "idempotency_key": f"dq:district:{district_id}:{today}:stale_district",
                "alert_type": "stale_district",
                "severity": "medium",
                "payload": {
                    "district_id": district_id,
                    "day": str(today),
                    "series": len(group),
                    "staleness_s": float(group["staleness_s"].min()),
                },
            }
        )
    for row in found.to_dict("records"):
        tenant = tenants.get(row["node_id"])
        if tenant is None:
            continue
        alerts.append(
            {
                "tenant_id": tenant,
                "idempotency_key": f"dq:{row['node_id']}:{row['metric']}:{row['day']}:{row['problem']}",
                "alert_type": row["problem"],
                "severity": row["severity"],
                "payload": {
                    "node_id": row["node_id"],
                    "metric": row["metric"],
                    "day": str(row["day"]),
                    "completeness": float(row["completeness"]),
                    "validity": float(row["validity"]),
                    "staleness_s": float(row["staleness_s"]),
                    "score": float(row["score"]),
                    "longest_gap_s": float(row["longest_gap_s"]),
                    "longest_flat_s": float(row["longest_flat_s"]),
                },
            }
        )
    return alerts
