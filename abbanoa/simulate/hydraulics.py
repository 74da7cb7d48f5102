"""The hydraulic run: EPANET (through WNTR's EpanetSimulator) with pressure-driven demand.

Patterns are as long as the run (one multiplier per 5-minute step), so local-time demand,
day-to-day variation and leak growth are all inside one extended-period simulation.
Leaks are demands at their own junction (a 1 m pipe off the host junction), so the solver
delivers them under pressure-driven demand and they stay separable in the results.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from abbanoa.simulate.network import Network
from abbanoa.simulate.scenario import Episode, Leak, leak_profile

# Background leakage (many small undetectable leaks, IWA "background losses") as an emitter
# per district: Q = C p^N1 with N1 = 1.0, the FAVAD exponent for mixed systems
# (DESIGN.md, "Pressure and leakage"), sized to this share of the district's mean demand
# at a typical pressure.
BACKGROUND_LEAKAGE_SHARE = 0.10
TYPICAL_PRESSURE_M = 50.0
REQUIRED_PRESSURE_M = 20.0  # full demand delivered above this pressure (PDD, Wagner et al. 1988)
WATER_AGE_START_S = 12 * 3600.0  # initial water age in pipes; tanks start older
LAKE_PUMP_HOURS = (1, 15)  # local hours the Lake pump starts and stops (night tariff)


def _local_schedule(start: datetime, duration_s: float, timezone: str, hours: tuple[int, int], statuses=None):
    """(seconds since start, status) for each local day's switch hours (default: a pump's
    start and stop hour, Open then Closed), within the run; daylight-saving days included
    (the switch keeps its local hour)."""
    import wntr

    zone = ZoneInfo(timezone)
    first = start.astimezone(zone).date() - timedelta(days=1)
    days = int(duration_s // 86400) + 3
    statuses = statuses or (wntr.network.LinkStatus.Open, wntr.network.LinkStatus.Closed)
    out = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        for hour, status in zip(hours, statuses, strict=True):
            at = datetime.combine(day, time(int(hour), int(round(hour % 1 * 60)) % 60), tzinfo=zone)
            seconds = (at - start).total_seconds()
            if 0 <= seconds <= duration_s:
                out.append((seconds, status))
    return out


def _daily_time_controls(wn) -> dict[str, list[tuple[float, object]]]:
    """The network's time controls of its first day, per link: [(local hour, status)].
    An .inp's `LINK x OPEN AT TIME t` schedule usually covers its own duration only (Net3:
    one week); a utility runs pumps by local tariff hours, every day."""
    from wntr.network.controls import SimTimeCondition

    out: dict[str, list[tuple[float, object]]] = {}
    for _, control in wn.controls():
        if not isinstance(control.condition, SimTimeCondition) or control.condition._threshold >= 86400:
            continue
        for action in control.actions():
            target, attribute = action.target()
            if attribute == "status":
                out.setdefault(target.name, []).append((control.condition._threshold / 3600.0, action._value))
    return {link: sorted(switches, key=lambda s: s[0]) for link, switches in out.items()}


class Interpolated:
    """A result frame solved at a coarser step, read at the fine steps: `frame[cols]` gives
    the columns linearly interpolated onto 0..n-1 (only the columns asked for, so a large
    network's thousands of nodes are never all expanded)."""

    def __init__(self, coarse: pd.DataFrame, every: int, n_steps: int):
        self.coarse, self.every, self.n = coarse, every, n_steps

    def __getitem__(self, cols):
        picked = self.coarse[cols]
        fine = np.arange(self.n) / self.every
        where = np.arange(len(picked))
        if isinstance(picked, pd.Series):
            return pd.Series(np.interp(fine, where, picked.to_numpy()), index=pd.RangeIndex(self.n), name=cols)
        values = np.column_stack([np.interp(fine, where, picked[c].to_numpy()) for c in picked.columns])
        return pd.DataFrame(values, index=pd.RangeIndex(self.n), columns=picked.columns)


@dataclass
class HydraulicResult:
    flow_lps: pd.DataFrame  # per link, l/s, index = step number
    pressure_m: pd.DataFrame  # per node (tanks: level), m
    demand_lps: pd.DataFrame  # delivered demand per junction, l/s
    age_h: pd.DataFrame  # water age per node, hours


def _configure(
    network: Network,
    n_steps: int,
    step_s: int,
    start: datetime,
    area_patterns: dict[str, np.ndarray],
    leaks: list[Leak],
    times: list[datetime],
    episodes: list[Episode],
    timezone: str = "Europe/Rome",
    fine_times: list[datetime] | None = None,
    every: int = 1,
) -> None:
    import wntr
    from wntr.network.controls import Control, ControlAction, SimTimeCondition

    wn = network.wn
    opts = wn.options
    opts.time.duration = (n_steps - 1) * step_s
    opts.time.hydraulic_timestep = step_s
    opts.time.pattern_timestep = step_s
    opts.time.report_timestep = step_s
    opts.time.quality_timestep = step_s
    opts.time.rule_timestep = step_s
    opts.time.start_clocktime = (start.hour * 3600 + start.minute * 60) % 86400
    opts.hydraulic.demand_model = "PDD"
    opts.hydraulic.required_pressure = REQUIRED_PRESSURE_M
    opts.hydraulic.minimum_pressure = 0.0
    opts.hydraulic.pressure_exponent = 0.5
    opts.quality.parameter = "AGE"
    if network.name != "demo":
        # a model handed over by a utility (or Net6 under pressure-driven demand and leaks)
        # may not converge at some step: EPANET then halts the whole run; go on with the
        # solution of 10 more trials instead, as its UNBALANCED CONTINUE 10 option says
        opts.hydraulic.unbalanced = "CONTINUE"
        opts.hydraulic.unbalanced_value = 10
        opts.hydraulic.trials = max(opts.hydraulic.trials or 40, 100)

    for name, values in area_patterns.items():
        wn.add_pattern(f"area-{name}", list(map(float, values)))
    area_of = {j: dma for dma, d in network.districts.items() for j in d.junctions}
    for name in wn.junction_name_list:
        junction = wn.get_node(name)
        demands = junction.demand_timeseries_list
        total = sum(d.base_value for d in demands)
        while len(demands) > 1:
            del demands[-1]
        demands[0].base_value = total
        demands[0].pattern_name = f"area-{area_of.get(name, 'trunk')}"
        junction.initial_quality = WATER_AGE_START_S
    for name in wn.tank_name_list:
        wn.get_node(name).initial_quality = 4 * WATER_AGE_START_S

    opts.hydraulic.emitter_exponent = 1.0
    for dma_id, district in network.districts.items():
        members = sorted(district.junctions)
        host = wn.get_node(sorted(members, key=lambda j: (wn.get_node(j).elevation, j))[len(members) // 2])
        mean_m3s = sum(wn.get_node(j).base_demand for j in members) * float(np.mean(area_patterns[dma_id]))
        node = f"background-{dma_id}"
        wn.add_junction(node, base_demand=0.0, elevation=host.elevation, coordinates=host.coordinates)
        wn.get_node(node).emitter_coefficient = BACKGROUND_LEAKAGE_SHARE * mean_m3s / TYPICAL_PRESSURE_M
        wn.get_node(node).initial_quality = WATER_AGE_START_S
        wn.add_pipe(f"pipe-{node}", host.name, node, length=1.0, diameter=0.3, roughness=130)
        district.background_junctions.add(node)

    for leak in leaks:
        host = wn.get_node(leak.junction)
        node = f"leak-{leak.id}"
        profile = leak_profile(leak, fine_times or times)
        wn.add_pattern(f"pat-{leak.id}", list(_block_means(profile, every)) if every > 1 else profile)
        wn.add_junction(
            node,
            base_demand=leak.full_lps / 1000.0,
            demand_pattern=f"pat-{leak.id}",
            elevation=host.elevation,
            coordinates=host.coordinates,
        )
        wn.get_node(node).initial_quality = WATER_AGE_START_S
        wn.add_pipe(f"pipe-{leak.id}", leak.junction, node, length=1.0, diameter=0.3, roughness=130)
        network.districts[leak.dma_id].leak_junctions.add(node)

    # Net3's Lake pump runs by absolute times for one week only: make it a daily schedule
    # on the local clock (a utility times its pumps by local tariff hours, so the schedule
    # moves with daylight saving, as the demand does). Another network's first-day time
    # controls become daily local ones the same way; its tank-level controls stay as they are.
    daily = _daily_time_controls(wn) if network.name != "demo" else {}
    for name in list(wn.control_name_list):
        control = wn.get_control(name)
        if isinstance(control.condition, SimTimeCondition):
            wn.remove_control(name)
    if network.name == "demo":
        opened, closed = wntr.network.LinkStatus.Open, wntr.network.LinkStatus.Closed
        daily = {"10": [(LAKE_PUMP_HOURS[0], opened), (LAKE_PUMP_HOURS[1], closed)]}
    for link_name, switches in daily.items():
        link = wn.get_link(link_name)
        hours = tuple(h for h, _ in switches)
        statuses = tuple(st for _, st in switches)
        prefix = "lake" if network.name == "demo" else f"daily-{link_name}"
        for seconds, status in _local_schedule(start, opts.time.duration, timezone, hours, statuses):
            wn.add_control(
                f"{prefix}-{int(seconds)}",
                Control(SimTimeCondition(wn, "=", seconds), ControlAction(link, "status", status)),
            )

    # A pressure drop: the Quartucciu feed valve is shut (e.g. for works) and the district
    # hangs on its tank alone.
    for episode in episodes:
        if episode.kind != "pressure_drop":
            continue
        feeds = [
            link
            for link, _, into in network.districts[episode.dma_id].meters
            if link != _tank_link(network, episode.dma_id)
        ]
        if not feeds:
            continue
        link = wn.get_link(episode.link if episode.link in feeds else feeds[0])
        for when, status in (
            (episode.start, wntr.network.LinkStatus.Closed),
            (episode.end, wntr.network.LinkStatus.Open),
        ):
            seconds = (when - start).total_seconds()
            wn.add_control(
                f"{episode.id}-{status}",
                Control(SimTimeCondition(wn, "=", seconds), ControlAction(link, "status", status)),
            )


def _tank_link(network: Network, dma_id: str) -> str | None:
    tanks = {s.element for s in network.sensors if s.dma_id == dma_id and s.node_type == "tank"}
    if not tanks:
        return None
    tank = sorted(tanks)[0]
    return next(
        (
            link
            for link, _, _ in network.districts[dma_id].meters
            if tank in (network.wn.get_link(link).start_node_name, network.wn.get_link(link).end_node_name)
        ),
        None,
    )


def run_hydraulics(
    network: Network,
    start: datetime,
    times: list[datetime],
    step_s: int,
    area_patterns: dict[str, np.ndarray],
    leaks: list[Leak],
    episodes: list[Episode],
    timezone: str = "Europe/Rome",
    every: int = 1,
) -> HydraulicResult:
    """Configure and run EPANET; results per 5-minute step in l/s, m and hours. With
    `every` > 1 the solver steps `every` x `step_s` (patterns and leak profiles averaged
    over each coarse step, so volumes are kept) and results are interpolated back."""
    import wntr

    n_steps = len(times)
    if every > 1:
        blocks = -(-n_steps // every)
        area_patterns = {k: _block_means(v, every) for k, v in area_patterns.items()}
        coarse_times = times[::every]
        _configure(
            network, blocks, step_s * every, start, area_patterns, leaks, coarse_times, episodes, timezone, times, every
        )
    else:
        blocks = n_steps
        _configure(network, n_steps, step_s, start, area_patterns, leaks, times, episodes, timezone)
    # EPANET writes its scratch files (enXXXXXX) into the working directory: run inside tmp
    with tempfile.TemporaryDirectory(prefix="abbanoa-sim-") as tmp, contextlib.chdir(tmp):
        sim = wntr.sim.EpanetSimulator(network.wn)
        results = sim.run_sim(file_prefix=os.path.join(tmp, "run"))
    node, link = results.node, results.link
    index = pd.RangeIndex(blocks)

    def frame(df: pd.DataFrame, scale: float):
        out = df.iloc[:blocks] * scale
        out.index = index
        return out if every == 1 else Interpolated(out, every, n_steps)

    return HydraulicResult(
        flow_lps=frame(link["flowrate"], 1000.0),
        pressure_m=frame(node["pressure"], 1.0),
        demand_lps=frame(node["demand"], 1000.0),
        age_h=frame(node["quality"], 1 / 3600.0),
    )


def _block_means(values, every: int) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    pad = (-len(values)) % every
    padded = np.concatenate([values, np.repeat(values[-1:], pad)]) if pad else values
    return padded.reshape(-1, every).mean(axis=1)
