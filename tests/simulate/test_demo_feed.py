"""The demo's live feed: a scenario running past the present is imported as its time comes."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd

from abbanoa.demo_feed import Feed
from abbanoa.ingest.importer import import_paths
from abbanoa.simulate.run import simulate
from abbanoa.stores import bigquery as bq

DAY = dt.datetime(2025, 6, 10, tzinfo=dt.UTC)  # a day no other test simulates into the shared dataset


def _warehouse_rows(warehouse) -> pd.DataFrame:
    return warehouse.query_df(
        "SELECT ts FROM `{dataset}.readings` WHERE ts >= @a AND ts < @b",
        [
            bq.param("a", "TIMESTAMP", DAY - dt.timedelta(days=1)),
            bq.param("b", "TIMESTAMP", DAY + dt.timedelta(days=2)),
        ],
    )


def test_readings_arrive_as_their_time_comes_and_bad_rows_are_quarantined_once(tmp_path, db, warehouse):
    # given a one-day scenario whose second half is still to come
    now = DAY + dt.timedelta(hours=12)
    out = tmp_path / "scenario"
    simulate(out, 1, 5, now - dt.timedelta(hours=11), "Europe/Rome")
    files = [out / n for n in ("districts.csv", "nodes.csv", "district_meters.csv")]
    import_paths(files, warehouse.settings, "feedtenant", now=now, progress=False)
    feed = Feed(out, warehouse.settings.bq_dataset, "feedtenant")
    # when it is fed now, then again an hour later
    first = feed.feed(warehouse.settings, "feedtenant", now)
    after_first = _warehouse_rows(warehouse)
    second = feed.feed(warehouse.settings, "feedtenant", now + dt.timedelta(hours=1))
    rows = _warehouse_rows(warehouse)
    # then nothing from the future was loaded, the next hour came with the second call, and
    # the state file says how far the scenario has been fed
    ts = pd.to_datetime(rows["ts"], utc=True)
    assert pd.to_datetime(after_first["ts"], utc=True).max() <= pd.Timestamp(now)
    assert ts.max() == pd.Timestamp(now + dt.timedelta(hours=1))
    assert 0 < second < first
    assert feed.fed_until == pd.Timestamp(now + dt.timedelta(hours=1))
    # the unreadable rows went with the first slice only
    labels = json.loads((out / "labels.json").read_text())
    malformed = next(e for e in labels["events"] if e["type"] == "malformed_rows")
    quarantined = warehouse.query_df("SELECT count(*) AS n FROM `{dataset}.quarantine` WHERE tenant_id = 'feedtenant'")
    assert 0 < int(quarantined["n"].iloc[0]) <= malformed["magnitude"]
    assert len(feed.due(pd.Timestamp(now + dt.timedelta(hours=1)))) == 0
