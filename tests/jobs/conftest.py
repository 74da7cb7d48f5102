"""A fresh warehouse dataset per test (sync reads "everything since the watermark"), a
small registry in PostgreSQL, and helpers to put readings into the warehouse."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
import sqlalchemy as sa

from abbanoa import settings as settings_module
from abbanoa.metrics import METRICS
from abbanoa.stores.bigquery import Warehouse

_counter = itertools.count()


@pytest.fixture
def jobs_settings(database, warehouse):
    """Session settings pointed at a dataset of this test's own."""
    settings = database.with_(bq_dataset=f"{database.bq_dataset}_j{next(_counter)}")
    wh = Warehouse(settings)
    wh.create_all()
    settings_module.reset_settings(settings)
    yield settings
    wh.client.delete_dataset(wh.dataset, delete_contents=True, not_found_ok=True)


@pytest.fixture
def registry(db):
    """Tenant t1 with district D1 (inlet meter FM1 +1, outlet FM2 -1) and a pressure logger P1."""
    with db.begin() as conn:
        conn.execute(sa.text("INSERT INTO tenants VALUES ('t1', 'Tenant one') ON CONFLICT DO NOTHING"))
        conn.execute(sa.text("INSERT INTO districts (district_id, tenant_id, name) VALUES ('D1', 't1', 'D one')"))
        conn.execute(
            sa.text(
                "INSERT INTO nodes (node_id, tenant_id, name, node_type, district_id) VALUES "
                "('FM1', 't1', 'inlet', 'flow_meter', 'D1'), ('FM2', 't1', 'outlet', 'flow_meter', 'D1'), "
                "('P1', 't1', 'logger', 'pressure_logger', 'D1')"
            )
        )
        conn.execute(sa.text("INSERT INTO district_meters VALUES ('D1', 'FM1', 1), ('D1', 'FM2', -1)"))
    return db


def reading(node_id, metric, ts, value, ingested_at):
    return {
        "ts": ts,
        "node_id": node_id,
        "metric": metric,
        "value": value,
        "unit": METRICS[metric].unit,
        "ingested_at": ingested_at,
        "source": "test",
    }


def series(node_id, metric, start, count, step=dt.timedelta(minutes=5), value=lambda i: float(i), ingested_at=None):
    """`count` readings from `start` every `step`."""
    return [reading(node_id, metric, start + i * step, value(i), ingested_at or start + i * step) for i in range(count)]
