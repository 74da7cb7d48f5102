"""network_efficiency keeps the Overview's cached losses current without recounting the
5-minute rollups: a cached document gets only its balance recomputed (issue #14: that
recount was 6 of the job's 8.75 s at 1,000 nodes); an uncached range is computed whole."""

from __future__ import annotations

import datetime as dt

from abbanoa import summary
from abbanoa.jobs.runner import run_job
from abbanoa.stores.cache import SYSTEM_METRICS
from bench import network

NOW = dt.datetime(2026, 11, 20, 5, 10, tzinfo=dt.UTC)


def test_a_cached_overview_gets_the_new_balance_and_keeps_its_counts(db, database, cache):
    network.generate(database, nodes=12, districts=2, days=3, raw_hours=4, now=NOW, metrics=1)
    key = cache.key(SYSTEM_METRICS, tenant_id=network.TENANT, time_range="24h")

    first = run_job("network_efficiency", database, now=NOW)
    assert first.status == "succeeded", first.error
    whole = cache.get_json(key)
    with db.connect() as conn:
        assert whole == summary.system_metrics(conn, network.TENANT, "24h", NOW)  # not cached yet: whole
    assert whole["balance"]["days"] >= 1 and whole["losses_m3"] is not None

    cache.set_json(key, {**whole, "readings": -1, "balance": {}, "losses_m3": None})  # an older document
    later = NOW + dt.timedelta(minutes=5)
    second = run_job("network_efficiency", database, now=later)
    assert second.status == "succeeded", second.error
    refreshed = cache.get_json(key)
    with db.connect() as conn:
        expected = summary.system_metrics(conn, network.TENANT, "24h", later)
    assert refreshed["readings"] == -1  # the counts are cache_refresh's: not recomputed here
    assert refreshed["balance"] == expected["balance"]
    assert refreshed["losses_m3"] == expected["losses_m3"]
