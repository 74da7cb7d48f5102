"""One simulation, start to end: network, demand, hydraulics, quality, faults, files."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from abbanoa.simulate import quality
from abbanoa.simulate.demand import demand_multipliers, step_times
from abbanoa.simulate.faults import FaultInjector, iso
from abbanoa.simulate.hydraulics import run_hydraulics
from abbanoa.simulate.model_file import write_model
from abbanoa.simulate.network import build_network
from abbanoa.simulate.scenario import plan_any_network, plan_episodes, plan_leaks
from abbanoa.simulate.topology import write_topology
from abbanoa.simulate.writers import write_csv, write_labels

STEP_S = 300  # 5-minute readings
BAR_PER_M = 0.0980665  # 1 m of water head = rho g h = 0.0980665 bar
UNITS = {
    "flow_rate": "l/s",
    "total_flow": "m3",
    "pressure": "bar",
    "level": "m",
    "temperature": "degC",
    "ph": "pH",
    "turbidity": "NTU",
    "free_chlorine": "mg/l",
    "conductivity": "uS/cm",
}
DECIMALS = {
    "flow_rate": 3,
    "total_flow": 3,
    "pressure": 3,
    "level": 3,
    "temperature": 2,
    "ph": 2,
    "turbidity": 3,
    "free_chlorine": 3,
    "conductivity": 1,
}
# Legitimate night use per property, l/property/h (UK Water Industry Research/ WRc "Managing
# Leakage" report E, typical 1.7 l/prop/h).
NIGHT_USE_L_PER_CONN_H = 1.7
LITRES_PER_PERSON_DAY = 220  # Italian household use (ISTAT, ~215-240 l/inhabitant/day delivered)
PERSONS_PER_CONNECTION = 2.4


@dataclass
class Summary:
    out: Path
    start: datetime
    end: datetime
    steps: int
    rows: int
    events: int


def local_midnight(day: datetime, timezone: str) -> datetime:
    tz = ZoneInfo(timezone)
    return datetime(day.year, day.month, day.day, tzinfo=tz)


@dataclass
class Options:
    """How to simulate a network other than the demo's (`simulate --network`)."""

    network: str  # a shipped network's name or an .inp path
    districts: int | None = None  # None: about 60 junctions a district
    partition: Path | None = None  # CSV junction,dma_id instead of the topology's communities
    logger_density: float = 0.1  # share of a district's junctions with a pressure logger
    probe_density: float = 0.02  # share with a quality probe
    interval_min: int = 5  # reporting interval of every sensor (a multiple of 5)
    hydraulic_min: int | None = None  # solver step (None: 5, or 15 above 500 junctions)


def simulate(
    out: Path, days: int, seed: int, start: datetime, timezone: str, options: Options | None = None
) -> Summary:
    """Write the output directory for `days` local days from `start` (UTC-aware): the demo's
    two districts, or with `options` any EPANET network."""
    out.mkdir(parents=True, exist_ok=True)
    tz = ZoneInfo(timezone)
    local_start = start.astimezone(tz)
    # days are local calendar days: a DST change makes the run an hour shorter or longer
    local_end = (local_start.replace(tzinfo=None) + timedelta(days=days)).replace(tzinfo=tz)
    end = local_end.astimezone(start.tzinfo)
    n = int((end - start).total_seconds() // STEP_S)
    times = step_times(start, n, STEP_S)
    rng = np.random.default_rng(seed)

    if options is None:
        network = build_network()
        report, every = 1, 1
    else:
        from abbanoa.simulate import networks

        network = networks.build(
            options.network,
            options.districts,
            options.logger_density,
            options.probe_density,
            seed,
            options.partition,
        )
        report = max(1, options.interval_min // (STEP_S // 60))
        hydraulic = options.hydraulic_min or (15 if network.wn.num_junctions > 500 else 5)
        every = max(1, hydraulic // (STEP_S // 60))
    write_model(out, network)  # the model a utility would hold (before leaks are added)
    areas = list(network.districts) + ["trunk"]
    patterns = {area: demand_multipliers(times, timezone, rng) for area in areas}
    wn = network.wn
    mean_lps = {
        d: sum(wn.get_node(j).base_demand for j in sorted(x.junctions)) * 1000 for d, x in network.districts.items()
    }
    hosts = {d: sorted(x.junctions) for d, x in network.districts.items()}
    if options is None:
        leaks = plan_leaks(start, end, STEP_S, hosts, mean_lps, rng)
        episodes = plan_episodes(start, end, STEP_S)
    else:
        tanks = {s.element for s in network.sensors if s.node_type == "tank"}
        feeds = {
            d: [
                link
                for link, _, into in x.meters
                if into == 1 and not {wn.get_link(link).start_node_name, wn.get_link(link).end_node_name} & tanks
            ]
            for d, x in network.districts.items()
        }
        feeds = {d: f + [link for link, _, _ in network.districts[d].meters if link not in f] for d, f in feeds.items()}
        leaks, episodes = plan_any_network(start, end, STEP_S * report, hosts, mean_lps, feeds, rng)
    hyd = run_hydraulics(network, start, times, STEP_S, patterns, leaks, episodes, timezone, every)

    series, sensor_of, events = {}, {}, []
    direction, main_meter = {}, {}
    temperature_base = quality.water_temperature(times, timezone, rng)
    for sensor in network.sensors:
        sensor_of[sensor.node_id] = sensor
        el = sensor.element
        if sensor.node_type == "flow_meter":
            raw = hyd.flow_lps[el].to_numpy(dtype=float)
            # the meter is mounted in the dominant flow direction; `direction` says if that enters the DMA
            sensor.orientation = 1 if raw.mean() >= 0 else -1
            # (a meter between two districts counts in both balances, with opposite signs)
            for dma_id, district in network.districts.items():
                for _, node, into in district.meters:
                    if node == sensor.node_id:
                        direction[(dma_id, sensor.node_id)] = into * sensor.orientation
            q = raw * sensor.orientation
            q = q + rng.normal(0.0, 1.0, n) * (0.002 * np.abs(q) + 0.01)
            q = np.round(q, DECIMALS["flow_rate"])
            total = (
                float(rng.integers(50_000, 900_000))
                + np.concatenate([[0.0], np.cumsum(np.clip(q, 0, None))[:-1]]) * STEP_S / 1000
            )
            series[(sensor.node_id, "flow_rate")] = q
            series[(sensor.node_id, "total_flow")] = total
            series[(sensor.node_id, "temperature")] = temperature_base + rng.normal(0, 0.08, n)
            weight = np.abs(raw).mean()
            for dma_id, _ in (k for k in direction if k[1] == sensor.node_id):
                if weight > main_meter.get(dma_id, ("", -1))[1]:
                    main_meter[dma_id] = (sensor.node_id, weight)
        elif sensor.node_type == "tank":
            series[(sensor.node_id, "level")] = hyd.pressure_m[el].to_numpy() + rng.normal(0, 0.005, n)
        elif sensor.node_type == "pressure_logger":
            # a logger above the hydraulic grade line sits on a drained pipe: it reads about
            # 0 bar (gauge), not the solver's negative pressure
            head = np.fmax(hyd.pressure_m[el].to_numpy(), 0.0)
            series[(sensor.node_id, "pressure")] = head * BAR_PER_M + rng.normal(0, 0.004, n)
        else:
            temp = temperature_base + rng.normal(0, 0.1, n)
            inflow = sum(hyd.flow_lps[link].abs() for link, _, _ in network.districts[sensor.dma_id].meters).to_numpy()
            series[(sensor.node_id, "temperature")] = temp
            series[(sensor.node_id, "free_chlorine")] = quality.free_chlorine(hyd.age_h[el].to_numpy(), temp, rng)
            series[(sensor.node_id, "turbidity")] = quality.turbidity(inflow / max(inflow.mean(), 1e-9), rng)
            series[(sensor.node_id, "ph")] = quality.ph(n, rng)
            series[(sensor.node_id, "conductivity")] = quality.conductivity(n, rng)

    events += _physics_events(network, hyd, leaks, episodes, series, times, main_meter, rng)
    for key in series:
        series[key] = [round(float(v), DECIMALS[key[1]]) for v in series[key]]

    injector = FaultInjector(times, STEP_S)
    short = (end - start) < timedelta(days=14)
    at = lambda f: times[int(n * f) // report * report]  # noqa: E731
    hours = lambda h: timedelta(hours=h * (0.5 if short else 1))  # noqa: E731
    pick = _fault_targets(network)
    gap, probe, stuck, spiky, dup, late, bad = (
        pick[k] for k in ("gap", "probe", "stuck", "spike", "dup", "late", "bad")
    )
    injector.gap(series, gap.dma_id, gap.node_id, ["pressure"], at(0.40), at(0.40) + hours(4))
    injector.gap(series, probe.dma_id, probe.node_id, list(probe.metrics), at(0.85), at(0.85) + hours(8))
    injector.stuck(series, stuck.dma_id, stuck.node_id, "pressure", "bar", at(0.33), at(0.33) + hours(6))
    for f, delta in ((0.20, 3.5), (0.21, -1.8), (0.23, 4.2)):
        injector.spike(series, spiky.dma_id, spiky.node_id, "pressure", "bar", at(f), delta)

    rows = []
    for i, t in enumerate(times):
        if i % report:
            continue  # sensors report every `interval_min`; the physics ran at 5 minutes
        stamp = iso(t)
        for sensor in network.sensors:
            for metric in sensor.metrics:
                value = series[(sensor.node_id, metric)][i]
                if value is not None:
                    rows.append((stamp, sensor.node_id, metric, repr(value), UNITS[metric]))
    rows = injector.duplicates(rows, dup.dma_id, dup.node_id, at(0.45), at(0.45) + hours(2))
    rows = injector.out_of_order(rows, late.dma_id, late.node_id, at(0.65), at(0.65) + hours(1), timedelta(hours=3))
    rows = injector.malformed(rows, bad.dma_id, bad.node_id, "pressure", "bar", at(0.5))
    events += injector.events

    write_csv(out, "readings.csv", rows)
    write_csv(
        out,
        "nodes.csv",
        [(s.node_id, s.name, s.node_type, s.latitude, s.longitude, s.dma_id) for s in network.sensors],
    )
    write_csv(out, "district_meters.csv", [(d, node, sign) for (d, node), sign in direction.items()])
    write_csv(out, "districts.csv", _districts(network, hyd))
    write_topology(out, network)  # the pipes for the dashboard's map (issue 16)
    write_csv(out, "truth.csv", _truth(network, hyd, times, direction, sensor_of))
    scenario = {"seed": seed, "start": iso(start), "end": iso(end), "days": days, "timezone": timezone}
    if options is not None:
        scenario["network"] = network.name
    write_labels(out, scenario, events)
    return Summary(out, start, end, n, len(rows), len(events))


def _fault_targets(network) -> dict:
    """Which sensors carry the faults: the demo's fixed ones, else the same roles taken in
    turn from the districts (loggers for gaps, stuck values and spikes, a probe for a probe
    gap, flow meters for the row-level faults)."""
    by_id = {s.node_id: s for s in network.sensors}
    if network.name == "demo":
        names = {
            "gap": "QRT-PL-02",
            "probe": "SEL-QP-02",
            "stuck": "SEL-PL-03",
            "spike": "QRT-PL-03",
            "dup": "SEL-FM-01",
            "late": "QRT-FM-01",
            "bad": "SEL-PL-01",
        }
        return {k: by_id[v] for k, v in names.items()}
    districts = list(network.districts)

    def nth(kind: str, district: int, index: int):
        pool = [s for s in network.sensors if s.node_type == kind and s.dma_id == districts[district % len(districts)]]
        pool = pool or [s for s in network.sensors if s.node_type == kind]
        return pool[index % len(pool)]

    return {
        "gap": nth("pressure_logger", 1, 1),
        "probe": nth("quality_probe", 0, 1),
        "stuck": nth("pressure_logger", 0, 2),
        "spike": nth("pressure_logger", 1, 2),
        "dup": nth("flow_meter", 0, 0),
        "late": nth("flow_meter", 1, 0),
        "bad": nth("pressure_logger", 0, 0),
    }


def _physics_events(network, hyd, leaks, episodes, series, times, main_meter, rng) -> list[dict]:
    events = []
    for leak in leaks:
        lat, lon = network.to_latlon(*network.wn.get_node(leak.junction).coordinates)
        events.append(
            {
                "id": leak.id,
                "type": leak.kind,
                "dma_id": leak.dma_id,
                "node_id": main_meter[leak.dma_id][0],
                "metric": "flow_rate",
                "start": iso(leak.start),
                "end": iso(leak.end),
                "magnitude": leak.full_lps,
                "unit": "l/s",
                "description": (
                    f"{'burst' if leak.kind == 'burst' else 'leak growing'} at junction {leak.junction} "
                    f"(lat {lat}, lon {lon}) until repair"
                ),
                "junction": leak.junction,
                "latitude": lat,
                "longitude": lon,
            }
        )
    for episode in episodes:
        i0, i1 = times.index(episode.start), times.index(episode.end)
        if episode.kind == "pressure_drop":
            loggers = [s for s in network.sensors if s.dma_id == episode.dma_id and s.node_type == "pressure_logger"]
            before = max(0, i0 - (i1 - i0))

            def drop(s, i0=i0, i1=i1, before=before):
                values = series[(s.node_id, "pressure")]
                return float(np.mean(values[before:i0]) - np.min(values[i0:i1]))

            worst = max(loggers, key=drop)
            events.append(
                {
                    "id": episode.id,
                    "type": "pressure_drop",
                    "dma_id": episode.dma_id,
                    "node_id": worst.node_id,
                    "metric": "pressure",
                    "start": iso(episode.start),
                    "end": iso(episode.end),
                    "magnitude": round(drop(worst), 3),
                    "unit": "bar",
                    "description": ("district feed valve shut, the district hangs on its tank (largest drop here)"),
                    "junction": worst.element,
                    "latitude": worst.latitude,
                    "longitude": worst.longitude,
                }
            )
        else:
            probe = next(s for s in network.sensors if s.dma_id == episode.dma_id and s.node_type == "quality_probe")
            shape = quality.excursion_shape(times, episode.start, episode.end)
            peak_ntu = round(float(rng.uniform(3.0, 5.0)), 2)
            series[(probe.node_id, "turbidity")] = series[(probe.node_id, "turbidity")] + peak_ntu * shape
            chlorine = series[(probe.node_id, "free_chlorine")]
            series[(probe.node_id, "free_chlorine")] = chlorine * (1 - 0.75 * shape)
            drop_mg = round(float(np.max(chlorine * 0.75 * shape)), 3)
            for metric, magnitude, unit, text in (
                ("turbidity", peak_ntu, "NTU", "turbidity rise (sediment stirred up by a flow reversal)"),
                ("free_chlorine", drop_mg, "mg/l", "chlorine residual drop during the turbidity event"),
            ):
                events.append(
                    {
                        "id": f"{episode.id}-{metric}",
                        "type": "quality_excursion",
                        "dma_id": episode.dma_id,
                        "node_id": probe.node_id,
                        "metric": metric,
                        "start": iso(episode.start),
                        "end": iso(episode.end),
                        "magnitude": magnitude,
                        "unit": unit,
                        "description": text,
                        "junction": probe.element,
                        "latitude": probe.latitude,
                        "longitude": probe.longitude,
                    }
                )
    return events


def _districts(network, hyd) -> list[tuple]:
    wn = network.wn
    rows = []
    for dma_id, d in network.districts.items():
        mains_m = sum(
            link.length
            for _, link in wn.pipes()
            if link.start_node_name in d.junctions and link.end_node_name in d.junctions
        )
        mean_lps = float(hyd.demand_lps[sorted(d.junctions)].sum(axis=1).mean())
        connections = int(round(mean_lps * 86400 / LITRES_PER_PERSON_DAY / PERSONS_PER_CONNECTION))
        private_km = connections * 12.0 / 1000  # ~12 m of private pipe from property line to meter
        avg_pressure = float(hyd.pressure_m[sorted(d.junctions)].to_numpy().mean())
        rows.append(
            (
                dma_id,
                d.name,
                round(mains_m / 1000, 2),
                connections,
                round(private_km, 2),
                round(avg_pressure, 1),
                NIGHT_USE_L_PER_CONN_H,
            )
        )
    return rows


def _truth(network, hyd, times, direction, sensor_of) -> list[tuple]:
    """Hourly volumes per district; inflow from the meters' true flows, the rest from demands."""
    hours = np.array([int(t.timestamp()) // 3600 * 3600 for t in times])
    rows = []
    for dma_id, d in network.districts.items():
        inflow = sum(
            hyd.flow_lps[sensor_of[node].element] * sensor_of[node].orientation * direction[(dma_id, node)]
            for _, node, _ in d.meters
        ).to_numpy()
        consumption = hyd.demand_lps[sorted(d.junctions)].sum(axis=1).to_numpy()
        leak = (
            hyd.demand_lps[sorted(d.leak_junctions | d.background_junctions)].sum(axis=1).to_numpy()
            if d.leak_junctions | d.background_junctions
            else np.zeros(len(times))
        )
        for hour in np.unique(hours):
            mask = hours == hour
            ts = datetime.fromtimestamp(int(hour), tz=times[0].tzinfo)
            rows.append(
                (
                    iso(ts),
                    dma_id,
                    *(round(float(v[mask].sum()) * STEP_S / 1000, 4) for v in (inflow, consumption, leak)),
                )
            )
    rows.sort()
    return rows
