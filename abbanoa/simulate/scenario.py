"""The events of a run: leaks, a pressure drop and a quality excursion (physics), placed in time.

Times are fractions of the run so a short test run and a four-week demo have the same
story; each leak has the run to itself so that it can be detected on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass
class Leak:
    id: str
    kind: str  # burst | growing_leak
    dma_id: str
    junction: str  # host junction in the district
    start: datetime
    end: datetime  # repair
    full_lps: float  # size at full development, l/s
    ramp_s: float  # growing leaks reach full size after this many seconds; bursts 0


@dataclass
class Episode:
    id: str
    kind: str  # pressure_drop | quality_excursion
    dma_id: str
    start: datetime
    end: datetime
    link: str | None = None  # the feed a pressure drop shuts (default: the district's first)


def _at(start: datetime, total_s: float, fraction: float, step_s: int) -> datetime:
    seconds = int(total_s * fraction) // step_s * step_s
    return start + timedelta(seconds=seconds)


def plan_leaks(
    start: datetime, end: datetime, step_s: int, hosts: dict[str, list[str]], mean_lps: dict[str, float], rng
) -> list[Leak]:
    """Leaks spread over both districts, one at a time; four or more when the run is two weeks+."""
    total = (end - start).total_seconds()
    days = total / 86400
    sel, qrt = sorted(hosts)[1], sorted(hosts)[0]  # DMA-SEL, DMA-QRT
    if days >= 14:
        # (kind, dma, start fraction, end fraction, size as share of mean inflow, ramp share)
        story = [
            ("burst", sel, 0.14, 0.21, 0.22, 0.0),
            ("growing_leak", qrt, 0.27, 0.45, 0.25, 0.7),
            ("burst", qrt, 0.52, 0.56, 0.35, 0.0),
            ("growing_leak", sel, 0.64, 0.86, 0.18, 0.6),
            ("burst", sel, 0.91, 0.95, 0.30, 0.0),
        ]
    else:
        story = [
            ("burst", sel, 0.30, 0.50, 0.25, 0.0),
            ("growing_leak", qrt, 0.58, 0.95, 0.30, 0.7),
        ]
    leaks = []
    for i, (kind, dma, f0, f1, share, ramp) in enumerate(story, start=1):
        junctions = hosts[dma]
        host = junctions[int(rng.integers(len(junctions)))]
        t0, t1 = _at(start, total, f0, step_s), _at(start, total, f1, step_s)
        size = round(mean_lps[dma] * share * float(rng.uniform(0.9, 1.1)), 2)
        leaks.append(Leak(f"leak-{i}", kind, dma, host, t0, t1, size, (t1 - t0).total_seconds() * ramp))
    return leaks


def leak_profile(leak: Leak, times: list[datetime]) -> list[float]:
    """Leak size per step as a fraction of full size (0 outside the leak)."""
    out = []
    for t in times:
        if t < leak.start or t >= leak.end:
            out.append(0.0)
        elif leak.ramp_s <= 0:
            out.append(1.0)
        else:
            out.append(min(1.0, 0.03 + (t - leak.start).total_seconds() / leak.ramp_s))
    return out


def plan_episodes(start: datetime, end: datetime, step_s: int) -> list[Episode]:
    """A pressure drop in Quartucciu (feed valve shut) and a turbidity/chlorine event in Selargius."""
    total = (end - start).total_seconds()
    days = total / 86400
    drop_f, qual_f = (0.08, 0.60) if days >= 14 else (0.12, 0.75)
    # at most a tenth of the run each, so that a one-day run still holds them
    drop_len = min(timedelta(hours=3), timedelta(seconds=total * 0.1 // step_s * step_s))
    qual_len = min(timedelta(hours=6), timedelta(seconds=total * 0.1 // step_s * step_s))
    d0 = _at(start, total, drop_f, step_s)
    q0 = _at(start, total, qual_f, step_s)
    return [
        Episode("pressure-drop-1", "pressure_drop", "DMA-QRT", d0, d0 + drop_len),
        Episode("quality-1", "quality_excursion", "DMA-SEL", q0, q0 + qual_len),
    ]


def plan_any_network(
    start: datetime,
    end: datetime,
    step_s: int,
    hosts: dict[str, list[str]],
    mean_lps: dict[str, float],
    feeds: dict[str, list[str]],
    rng,
) -> tuple[list[Leak], list[Episode]]:
    """Events of a run on any network, at seeded random instants (any hour of the day).

    Runs of two weeks or more: in every district a burst (20-40 % of its mean inflow, 6-36 h)
    and a background leak growing over 2-4 days to 10-25 %, lasting 5-9 days, never at the
    same time in one district, after a first clean week (the baselines' history); one
    district (with a second feed or a tank) has a feed shut for 2-4 h, another a quality
    excursion. Shorter runs: one burst in the first district and one growing leak in the
    last, in the run's second half.
    """
    total = (end - start).total_seconds()
    days = total / 86400

    def instant(lo_s: float, hi_s: float) -> datetime:
        seconds = float(rng.uniform(lo_s, max(hi_s, lo_s + step_s)))
        return start + timedelta(seconds=int(seconds) // step_s * step_s)

    def size(dma: str, lo: float, hi: float) -> float:
        return round(max(mean_lps[dma], 0.5) * float(rng.uniform(lo, hi)), 2)

    districts = sorted(hosts)
    leaks: list[Leak] = []
    n = 0
    if days >= 14:
        clean = 7 * 86400.0
        for dma in districts:
            burst_len = float(rng.uniform(6, 36)) * 3600
            grow_len = float(rng.uniform(5, 9)) * 86400
            span = total - clean
            # burst first or second, each in its own part of the run after the clean week
            burst_first = bool(rng.integers(2))
            parts = [(clean, clean + span / 2), (clean + span / 2, total)]
            burst_part, grow_part = parts if burst_first else parts[::-1]
            for kind, (lo, hi), length in (
                ("burst", burst_part, burst_len),
                ("growing_leak", grow_part, grow_len),
            ):
                length = min(length, (hi - lo) * 0.8)
                t0 = instant(lo, hi - length)
                t1 = min(t0 + timedelta(seconds=int(length) // step_s * step_s), end)
                n += 1
                full = size(dma, 0.2, 0.4) if kind == "burst" else size(dma, 0.1, 0.25)
                ramp = 0.0 if kind == "burst" else min(float(rng.uniform(2, 4)) * 86400, (t1 - t0).total_seconds())
                host = hosts[dma][int(rng.integers(len(hosts[dma])))]
                leaks.append(Leak(f"leak-{n}", kind, dma, host, t0, t1, full, ramp))
    else:
        # one after the other (a one-district network has both in the same district)
        for n, (kind, dma, share, ramp, lo, hi, length) in enumerate(
            (
                ("burst", districts[0], (0.25, 0.35), 0.0, 0.40, 0.50, 0.12),
                ("growing_leak", districts[-1], (0.2, 0.3), 0.7, 0.62, 0.66, 0.32),
            ),
            start=1,
        ):
            t0 = instant(total * lo, total * hi)
            t1 = min(t0 + timedelta(seconds=int(total * length) // step_s * step_s), end)
            host = hosts[dma][int(rng.integers(len(hosts[dma])))]
            ramp_s = (t1 - t0).total_seconds() * ramp
            leaks.append(Leak(f"leak-{n}", kind, dma, host, t0, t1, size(dma, *share), ramp_s))
    episodes: list[Episode] = []
    shut = [d for d in districts if len(feeds.get(d, [])) >= 2]
    first_third = (total * 0.1, total * 0.3)
    if shut:
        dma = shut[int(rng.integers(len(shut)))]
        length = timedelta(seconds=int(min(float(rng.uniform(2, 4)) * 3600, total * 0.1)) // step_s * step_s)
        t0 = instant(*first_third)
        episodes.append(Episode("pressure-drop-1", "pressure_drop", dma, t0, t0 + length, link=feeds[dma][0]))
    dma = districts[int(rng.integers(len(districts)))]
    length = timedelta(seconds=int(min(6 * 3600, total * 0.1)) // step_s * step_s)
    t0 = instant(total * 0.55, total * 0.7)
    episodes.append(Episode("quality-1", "quality_excursion", dma, t0, t0 + length))
    return leaks, episodes
