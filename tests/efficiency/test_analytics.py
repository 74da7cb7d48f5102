"""Pure analytics: DST-correct MNF, IWA/ARERA indicators, compliance and excursions, patterns."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from abbanoa.analytics import efficiency as eff
from abbanoa.analytics import patterns, quality
from abbanoa.errors import AbbanoaError

TZ = "Europe/Rome"


def _five_minute(start: str, end: str, fn) -> pd.Series:
    idx = pd.date_range(start, end, freq="5min", tz="UTC", inclusive="left")
    return pd.Series([fn(t) for t in idx], index=idx)


def test_mnf_on_spring_dst_day_uses_local_two_to_four_which_is_one_real_hour():
    # given: 2026-03-29, clocks jump 02:00 CET -> 03:00 CEST; local 02:00-04:00 = 01:00-02:00 UTC.
    # flow is 5 l/s only at 00:00-01:00 UTC (= 01:00-02:00 CET, outside the window) and
    # 7 l/s in 01:00-02:00 UTC, 20 l/s elsewhere
    def flow(t):
        if t.hour == 0:
            return 5.0
        if t.hour == 1:
            return 7.0 + (t.minute / 60)
        return 20.0

    s = _five_minute("2026-03-28T22:00Z", "2026-03-29T22:00Z", flow)
    lo, hi = eff.night_window_utc(dt.date(2026, 3, 29), TZ)
    assert (lo, hi) == (dt.datetime(2026, 3, 29, 1, tzinfo=dt.UTC), dt.datetime(2026, 3, 29, 2, tzinfo=dt.UTC))
    # when
    mnf = eff.minimum_night_flow(s, TZ)
    # then: the 5 l/s hour (01:00 local, before the window) is not the MNF
    assert mnf[dt.date(2026, 3, 29)] == pytest.approx(7.0)


def test_mnf_on_autumn_dst_day_spans_three_real_hours():
    # given 2026-10-25, 02:00-03:00 local happens twice: window = 00:00-03:00 UTC
    lo, hi = eff.night_window_utc(dt.date(2026, 10, 25), TZ)
    assert hi - lo == dt.timedelta(hours=3)
    s = _five_minute("2026-10-24T22:00Z", "2026-10-25T23:00Z", lambda t: 4.0 if t.hour == 2 else 10.0)
    # 02:00-03:00 UTC is local 03:00-04:00 CET, inside the window
    assert eff.minimum_night_flow(s, TZ)[dt.date(2026, 10, 25)] == pytest.approx(4.0)


def test_ordinary_winter_night_window_is_one_to_three_utc():
    lo, hi = eff.night_window_utc(dt.date(2026, 1, 15), TZ)
    assert (lo.hour, hi.hour) == (1, 3)


def test_uarl_of_the_iwa_formula_worked_example():
    # UARL = (18 Lm + 0.8 Nc + 25 Lp) x P (Lambert et al., AQUA 48(6), 1999):
    # Lm = 100 km, Nc = 5000, Lp = 0, P = 50 m -> (1800 + 4000) x 50 = 290 000 l/day
    infra = eff.Infrastructure(mains_length_km=100, service_connections=5000, private_pipe_km=0, avg_pressure_m=50)
    assert eff.uarl_l_day(infra) == pytest.approx(290_000.0)
    # per connection per metre of pressure at 50 conn/km: 18/50 + 0.8 = 1.16 l/conn/day/m (same formula
    # in the IWA per-connection form), and CARL 870 m3/day is three times UARL: ILI = 3.0
    assert eff.uarl_l_day(infra) / 5000 / 50 == pytest.approx(1.16)
    assert eff.ili(870_000.0, infra) == pytest.approx(3.0)


def test_indicators_need_infrastructure_data_and_are_none_without_it():
    unknown = eff.Infrastructure()
    out = eff.indicators(inflow_m3=2400.0, hours=24, consumption_m3=1800.0, mnf_l_s=10.0, infra=unknown)
    assert out["nrw_pct"] == pytest.approx(25.0)
    assert out["m1b_pct"] == pytest.approx(25.0)
    assert out["ili"] is None and out["uarl_l_day"] is None and out["m1a_m3_km_day"] is None
    assert out["real_losses_l_conn_day"] is None and out["night_leakage_l_s"] is None


def test_leakage_from_mnf_minus_night_use_and_arera_m1a():
    # given 3600 connections at 2 l/conn/h -> 2 l/s legitimate night use; MNF 12 l/s
    infra = eff.Infrastructure(mains_length_km=20.0, service_connections=3600, avg_pressure_m=40, night_use_l_per_conn_h=2.0)
    out = eff.indicators(inflow_m3=3000.0, hours=24, consumption_m3=None, mnf_l_s=12.0, infra=infra, night_day_factor_h=20)
    assert out["night_leakage_l_s"] == pytest.approx(10.0)
    assert out["leakage_m3_day"] == pytest.approx(10.0 * 20 * 3.6)  # 720 m3/day
    assert out["losses_m3"] == pytest.approx(720.0)
    assert out["m1a_m3_km_day"] == pytest.approx(36.0)  # 720 / 20 km
    assert out["m1b_pct"] == pytest.approx(24.0)  # 720 / 3000
    assert out["real_losses_l_conn_day"] == pytest.approx(200.0)


def test_daily_volumes_follow_local_days_with_23_hours_on_the_spring_change():
    idx = pd.date_range("2026-03-28T23:00Z", "2026-03-30T22:00Z", freq="h", tz="UTC", inclusive="left")
    s = pd.Series(1.0, index=idx)
    days = eff.aggregate_volumes(s, "day", TZ).set_index("period_start")
    assert days.loc[pd.Timestamp("2026-03-28T23:00Z"), "hours"] == 23
    assert days.loc[pd.Timestamp("2026-03-29T22:00Z"), "hours"] == 24


def test_net_inflow_subtracts_outgoing_meters_and_drops_incomplete_timestamps():
    ts = pd.to_datetime(["2026-01-01T00:00Z"] * 2 + ["2026-01-01T01:00Z"], utc=True)
    flows = pd.DataFrame({"ts": ts, "node_id": ["in", "out", "in"], "value": [10.0, 3.0, 9.0]})
    net = eff.net_inflow_l_s(flows, {"in": 1, "out": -1})
    assert list(net) == [7.0]
    with pytest.raises(AbbanoaError):
        eff.net_inflow_l_s(flows, {})


def test_mnf_trend_rises_with_a_growing_leak():
    mnf = pd.Series([5.0, 5.5, 6.0, 6.5], index=[dt.date(2026, 1, d) for d in range(1, 5)])
    assert eff.mnf_trend_l_s_per_day(mnf) == pytest.approx(0.5)
    assert eff.mnf_trend_l_s_per_day(mnf.iloc[:2]) is None


def test_compliance_per_local_day_and_excursions_with_start_end_peak():
    # given hourly pH with a 3-hour excursion up to 9.9 and one low sample at 6.2
    idx = pd.date_range("2026-06-01T00:00Z", periods=48, freq="h", tz="UTC")
    values = np.full(48, 7.4)
    values[10:13] = [9.6, 9.9, 9.7]
    values[30] = 6.2
    s = pd.Series(values, index=idx)
    limit = quality.DEFAULT_LIMITS["ph"]
    # when
    exc = quality.excursions(s, limit)
    days = quality.compliance_by_day(s, limit, TZ)
    # then
    assert [(e["start_ts"], e["end_ts"], e["peak_value"], e["open"]) for e in exc] == [
        (idx[10].to_pydatetime(), idx[12].to_pydatetime(), 9.9, False),
        (idx[30].to_pydatetime(), idx[30].to_pydatetime(), 6.2, False),
    ]
    assert days["samples"].sum() == 48 and days["compliant"].sum() == 44
    # local days: 2026-06-01 starts at 22:00Z on 05-31, so the first UTC hours count to 06-01
    assert list(days["day"])[0] == dt.date(2026, 6, 1)


def test_chlorine_operational_range_is_configurable_but_directive_limits_are_not():
    limits = quality.limits_with_overrides({"free_chlorine": (0.2, 0.5)})
    s = pd.Series([0.3, 0.7, 0.1], index=pd.date_range("2026-01-01", periods=3, freq="h", tz="UTC"))
    exc = quality.excursions(s, limits["free_chlorine"])
    assert len(exc) == 1 and exc[0]["samples"] == 2 and exc[0]["peak_value"] == 0.7 and exc[0]["open"]
    with pytest.raises(AbbanoaError):
        quality.limits_with_overrides({"ph": (6.0, 10.0)})


def test_conductivity_directive_limit_is_2500():
    s = pd.Series([2400.0, 2600.0], index=pd.date_range("2026-01-01", periods=2, freq="h", tz="UTC"))
    exc = quality.excursions(s, quality.DEFAULT_LIMITS["conductivity"])
    assert len(exc) == 1 and exc[0]["peak_value"] == 2600.0 and exc[0]["limit_kind"] == "directive"


def test_current_week_departure_from_the_typical_week():
    idx = pd.date_range("2026-01-05T00:00Z", periods=24 * 28, freq="h", tz="UTC")
    base = 10 + 5 * np.sin(2 * np.pi * (idx.hour.to_numpy() / 24))
    values = base.copy()
    values[-168:] *= 1.2  # last week 20% above
    s = pd.Series(values, index=idx)
    out = patterns.current_week_departure(s, TZ, idx[-1] + pd.Timedelta(hours=1))
    assert out["ratio"] == pytest.approx(1.2, rel=1e-6)
    prof = patterns.daily_profile(s.iloc[:-168], TZ)
    assert len(prof) == 24 and prof["mean"].max() > prof["mean"].min()
