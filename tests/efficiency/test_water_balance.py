"""Water balance, night flow and loss indicators: worked examples, DST nights and a
simulated network checked against its own ground truth."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa

from abbanoa.analytics import kpi, water_balance
from abbanoa.jobs.runner import run_job
from abbanoa.repository import readings_upsert
from abbanoa.simulate.run import simulate

TZ = "Europe/Rome"


def test_uarl_and_ili_on_a_worked_example():
    # IWA UARL = (18 Lm + 0.8 Nc + 25 Lp) x P: Lm = 100 km, Nc = 5000, Lp = 0, P = 50 m
    uarl = kpi.uarl_litres_per_day(100.0, 5000, 0.0, 50.0)
    assert uarl == pytest.approx((1800 + 4000) * 50)  # 290,000 l/day
    # current annual real losses of 580,000 l/day is twice the unavoidable level
    assert kpi.ili(580_000.0, uarl) == pytest.approx(2.0)
    assert kpi.uarl_litres_per_day(None, 5000, 0.0, 50.0) is None


def test_arera_and_nrw_indicators():
    assert kpi.m1a(44.0, 2.0) == pytest.approx(22.0)  # m3/km/day, the 2019 national average
    assert kpi.m1b(412.0, 1000.0) == pytest.approx(41.2)
    assert kpi.nrw_pct(1000.0, 750.0) == pytest.approx(25.0)
    assert kpi.m1a(44.0, 0.0) is None


def test_night_leakage_subtracts_legitimate_night_use():
    # 1,000 connections x 1.8 l/connection/h = 0.5 l/s of legitimate night use
    leak = kpi.night_leakage_l_s(3.5, 1000, 1.8)
    assert leak == pytest.approx(3.0)
    assert kpi.daily_leakage_m3(leak, 20.0) == pytest.approx(3.0 * 3600 * 20 / 1000)
    assert kpi.night_leakage_l_s(0.2, 1000, 1.8) == 0.0


def _hourly(start_utc: str, hours: int, value_of_local_hour) -> pd.DataFrame:
    buckets = pd.date_range(start_utc, periods=hours, freq="h", tz="UTC")
    local_hours = buckets.tz_convert(TZ).hour
    flows = [value_of_local_hour(h) for h in local_hours]
    return pd.DataFrame(
        {
            "district_id": "D1",
            "bucket": buckets,
            "inflow_m3": [f * 3.6 for f in flows],
            "outflow_m3": 0.0,
            "net_inflow_m3": [f * 3.6 for f in flows],
            "coverage": 1.0,
        }
    )


def test_minimum_night_flow_on_the_autumn_change_uses_local_hours():
    # 25 Oct 2026 is 25 hours long in Rome; flow is lowest at 03:00 local (5 l/s), 02:00 is 7 l/s
    hourly = _hourly("2026-10-24T22:00:00Z", 25, lambda h: {2: 7.0, 3: 5.0}.get(h, 20.0))
    mnf = water_balance.minimum_night_flow(hourly, TZ)
    assert mnf["mnf_l_s"].tolist() == [pytest.approx(5.0)]
    assert mnf["period_start"].iloc[0] == pd.Timestamp("2026-10-24T22:00:00Z")


def test_minimum_night_flow_on_the_spring_change_has_a_one_hour_window():
    # 29 Mar 2026: 02:00-03:00 local does not exist; the window holds only 03:00
    hourly = _hourly("2026-03-28T23:00:00Z", 23, lambda h: {1: 1.0, 3: 6.0, 4: 2.0}.get(h, 20.0))
    mnf = water_balance.minimum_night_flow(hourly, TZ)
    assert mnf["mnf_l_s"].tolist() == [pytest.approx(6.0)]


def test_a_local_day_with_a_clock_change_balances_25_hours():
    hourly = _hourly("2026-10-24T22:00:00Z", 25, lambda h: 10.0)
    districts = pd.DataFrame(
        [{"district_id": "D1", "mains_length_km": None, "service_connections": None, "private_pipe_km": None,
          "avg_pressure_m": None, "night_use_l_per_conn_h": 1.7, "night_day_factor_h": 20.0,
          "billed_consumption_m3_day": None}]
    )  # fmt: skip
    day = water_balance.balance(hourly, districts, TZ, "day")
    assert day["net_inflow_m3"].tolist() == [pytest.approx(25 * 36.0)]
    assert day["ili"].isna().all()  # no infrastructure data: no ILI, not a made-up one


def test_simulated_district_inflow_equals_consumption_plus_leaks(tmp_path, db, settings):
    simulate(tmp_path, days=4, seed=11, start=dt.datetime(2026, 3, 27, tzinfo=dt.UTC), timezone=TZ)
    meters = pd.read_csv(tmp_path / "district_meters.csv").rename(columns={"dma_id": "district_id"})
    readings = pd.read_csv(tmp_path / "readings.csv", dtype=str)
    flows = readings[readings["node_id"].isin(meters["node_id"]) & (readings["metric"] == "flow_rate")].copy()
    flows["ts"] = pd.to_datetime(flows["timestamp"], utc=True, errors="coerce")
    flows["value"] = pd.to_numeric(flows["value"], errors="coerce")
    flows = flows.dropna(subset=["ts", "value"]).assign(ingested_at=pd.Timestamp("2026-04-01", tz="UTC"))
    with db.begin() as conn:
        conn.execute(sa.text("INSERT INTO tenants VALUES ('sim', 'sim')"))
        for d in meters["district_id"].unique():
            conn.execute(
                sa.text("INSERT INTO districts (district_id, tenant_id, name) VALUES (:d, 'sim', :d)"), {"d": d}
            )
        for m in meters.itertuples():
            conn.execute(sa.text("INSERT INTO nodes (node_id, tenant_id) VALUES (:n, 'sim')"), {"n": m.node_id})
            conn.execute(
                sa.text("INSERT INTO district_meters VALUES (:d, :n, :s)"),
                {"d": m.district_id, "n": m.node_id, "s": int(m.direction)},
            )
        readings_upsert.upsert(conn, flows[readings_upsert.COLUMNS], TZ, 0)

    run_job("network_efficiency", settings, now=dt.datetime(2026, 3, 31, 0, 0, tzinfo=dt.UTC), params={"days": 10})

    truth = pd.read_csv(tmp_path / "truth.csv", parse_dates=["ts"])
    truth["period_start"] = water_balance.local_period(truth["ts"], TZ, "day")
    expected = truth.groupby(["dma_id", "period_start"])[["consumption_m3", "leak_m3"]].sum().sum(axis=1)
    with db.connect() as conn:
        measured = pd.read_sql_query(
            sa.text(
                "SELECT district_id, period_start, net_inflow_m3, coverage FROM network_efficiency WHERE period = 'day'"
            ),
            conn,
        )
    measured["period_start"] = pd.to_datetime(measured["period_start"], utc=True)
    full = measured[measured["coverage"] > 0.999]
    assert len(full) >= 4  # two districts x at least two whole local days, the 23-hour one included
    for row in full.itertuples():
        truth_m3 = expected[(row.district_id, row.period_start)]
        assert row.net_inflow_m3 == pytest.approx(truth_m3, rel=0.02), (row.district_id, row.period_start)


def _steady_inlet(db, ts) -> None:
    """District D1 with one inlet meter FM1 reading a steady 10 l/s at the times `ts`."""
    flows = pd.DataFrame({"node_id": "FM1", "metric": "flow_rate", "ts": ts, "value": 10.0, "ingested_at": ts[-1]})
    with db.begin() as conn:
        conn.execute(sa.text("INSERT INTO tenants VALUES ('m', 'm')"))
        conn.execute(sa.text("INSERT INTO districts (district_id, tenant_id, name) VALUES ('D1', 'm', 'D1')"))
        conn.execute(sa.text("INSERT INTO nodes (node_id, tenant_id) VALUES ('FM1', 'm')"))
        conn.execute(sa.text("INSERT INTO district_meters VALUES ('D1', 'FM1', 1)"))
        readings_upsert.upsert(conn, flows[readings_upsert.COLUMNS], TZ, 0)


def test_history_is_backfilled_once_then_only_the_tail_and_changed_days_are_recomputed(db, settings):
    # given an inlet meter at a steady 10 l/s from 20 February to 10 March 13:00 UTC
    start = pd.Timestamp("2026-02-20 00:00", tz=TZ).tz_convert("UTC")
    ts = pd.date_range(start, pd.Timestamp("2026-03-10 13:00", tz="UTC"), freq="5min", inclusive="left")
    _steady_inlet(db, ts)
    now = dt.datetime(2026, 3, 10, 13, 0, tzinfo=dt.UTC)

    def rows(period):
        with db.connect() as conn:
            return pd.read_sql_query(
                sa.text(
                    "SELECT period_start, net_inflow_m3, hours, expected_hours, partial FROM network_efficiency "
                    "WHERE period = :p ORDER BY period_start"
                ),
                conn,
                params={"p": period},
            )

    # when the job runs for the first time, then every stored day is computed, not only the tail
    first = run_job("network_efficiency", settings, now=now)
    days = rows("day")
    assert len(days) == 19  # 20 Feb .. 10 Mar (local days)
    assert first.details["backfilled_days"] == 15  # 20 Feb .. 6 Mar; the tail (7-10 Mar) aside
    assert not days["partial"].iloc[:-1].any() and days["partial"].iloc[-1]  # today (14 h so far) is partial
    assert days["net_inflow_m3"].iloc[:-1].tolist() == [pytest.approx(10.0 * 3.6 * 24)] * 18
    # the months cover all of their hours: February from the 20th, March to now, March partial
    months = rows("month")
    feb_hours = (pd.Timestamp("2026-03-01", tz=TZ).tz_convert("UTC") - start) / pd.Timedelta(hours=1)
    march_hours = (pd.Timestamp(now) - pd.Timestamp("2026-03-01", tz=TZ).tz_convert("UTC")) / pd.Timedelta(hours=1)
    assert months["net_inflow_m3"].tolist() == [pytest.approx(36.0 * feb_hours), pytest.approx(36.0 * march_hours)]
    assert months["partial"].tolist() == [True, True]  # February's data starts on the 20th
    # when it runs again, then no old day is recomputed
    assert run_job("network_efficiency", settings, now=now).details["backfilled_days"] == 0
    # when older history arrives (15-19 February), then only those days are backfilled
    older = pd.date_range(pd.Timestamp("2026-02-15 00:00", tz=TZ).tz_convert("UTC"), start, freq="5min",
                          inclusive="left")  # fmt: skip
    with db.begin() as conn:
        flows = pd.DataFrame({"node_id": "FM1", "metric": "flow_rate", "ts": older, "value": 10.0, "ingested_at": now})
        readings_upsert.upsert(conn, flows[readings_upsert.COLUMNS], TZ, 0)
    third = run_job("network_efficiency", settings, now=now)
    assert third.details["backfilled_days"] == 5
    assert len(rows("day")) == 24
    assert rows("month")["net_inflow_m3"].iloc[0] == pytest.approx(36.0 * (feb_hours + 5 * 24))


def test_early_in_a_month_the_previous_months_row_is_not_overwritten_by_its_last_days(db, settings):
    # given an inlet meter at a steady 10 l/s through February into March
    start = pd.Timestamp("2026-02-01 00:00", tz=TZ).tz_convert("UTC")
    ts = pd.date_range(start, pd.Timestamp("2026-03-02 12:00", tz="UTC"), freq="5min", inclusive="left")
    _steady_inlet(db, ts)

    def february():
        with db.connect() as conn:
            return conn.execute(
                sa.text("SELECT net_inflow_m3 FROM network_efficiency WHERE period = 'month' AND period_start < :m"),
                {"m": pd.Timestamp("2026-03-01", tz=TZ).to_pydatetime()},
            ).scalar()

    # when the month row is built at the end of February, then again on 2 March (whose
    # 3-day window reaches back into February)
    run_job("network_efficiency", settings, now=dt.datetime(2026, 2, 28, 22, 0, tzinfo=dt.UTC))
    whole = february()
    run_job("network_efficiency", settings, now=dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC))
    # then February keeps its whole month (and gains its last local hour, 23:00-24:00)
    hours = (pd.Timestamp("2026-02-28 22:00", tz="UTC") - start) / pd.Timedelta(hours=1)
    assert whole == pytest.approx(10.0 * 3.6 * hours)
    assert february() == pytest.approx(10.0 * 3.6 * 28 * 24)
