"""Sensor faults, injected AFTER the physics into the rows that are written.

Each fault returns its ground-truth event (the labels.json shape of CONTRACTS.md).
Rows are (timestamp, node_id, metric, value, unit) tuples of strings.
"""

from __future__ import annotations

from datetime import datetime, timedelta

Row = tuple[str, str, str, str, str]


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _event(id_, type_, dma, node, metric, start, end, magnitude, unit, description) -> dict:
    return {
        "id": id_,
        "type": type_,
        "dma_id": dma,
        "node_id": node,
        "metric": metric,
        "start": iso(start),
        "end": iso(end),
        "magnitude": magnitude,
        "unit": unit,
        "description": description,
        # where in the network (a leak's or an incident's junction): none for a sensor fault
        "junction": None,
        "latitude": None,
        "longitude": None,
    }


class FaultInjector:
    """Applies faults to per-series values (gaps, stuck, spikes) and to the row list."""

    def __init__(self, times: list[datetime], step_s: int):
        self.times = times
        self.step = timedelta(seconds=step_s)
        self.events: list[dict] = []

    def clamp(self, end: datetime) -> datetime:
        """A window's end, at most the end of the run."""
        return min(end, self.times[-1] + self.step)

    def _window(self, start: datetime, end: datetime) -> range:
        i0 = self.times.index(start)
        return range(i0, i0 + int((self.clamp(end) - start) / self.step))

    def gap(self, series: dict, dma: str, node: str, metrics: list[str], start: datetime, end: datetime) -> None:
        end = self.clamp(end)
        for metric in metrics:
            for i in self._window(start, end):
                series[(node, metric)][i] = None
        self.events.append(
            _event(
                f"gap-{node}",
                "sensor_gap",
                dma,
                node,
                metrics[0] if len(metrics) == 1 else None,
                start,
                end,
                round((end - start).total_seconds() / 3600, 2),
                "h",
                f"{node} sent nothing ({', '.join(metrics)}) for the window",
            )
        )

    def stuck(self, series: dict, dma: str, node: str, metric: str, unit: str, start: datetime, end: datetime) -> None:
        end = self.clamp(end)
        window = self._window(start, end)
        frozen = series[(node, metric)][window[0]]
        for i in window:
            series[(node, metric)][i] = frozen
        self.events.append(
            _event(
                f"stuck-{node}-{metric}",
                "stuck_value",
                dma,
                node,
                metric,
                start,
                end,
                frozen,
                unit,
                f"{metric} at {node} frozen at {frozen} {unit}",
            )
        )

    def spike(self, series: dict, dma: str, node: str, metric: str, unit: str, at: datetime, delta: float) -> None:
        i = self.times.index(at)
        series[(node, metric)][i] = round(series[(node, metric)][i] + delta, 3)
        self.events.append(
            _event(
                f"spike-{node}-{metric}-{iso(at)}",
                "spike",
                dma,
                node,
                metric,
                at,
                at + self.step,
                delta,
                unit,
                f"single {metric} reading off by {delta:+} {unit}",
            )
        )

    def duplicates(self, rows: list[Row], dma: str, node: str, start: datetime, end: datetime) -> list[Row]:
        end = self.clamp(end)
        lo, hi = iso(start), iso(end)
        out, count = [], 0
        for row in rows:
            out.append(row)
            if row[1] == node and lo <= row[0] < hi:
                out.append(row)
                count += 1
        self.events.append(
            _event(
                f"duplicates-{node}",
                "duplicates",
                dma,
                node,
                None,
                start,
                end,
                count,
                "rows",
                f"every row of {node} in the window sent twice (identical)",
            )
        )
        return out

    def out_of_order(
        self, rows: list[Row], dma: str, node: str, start: datetime, end: datetime, delay: timedelta
    ) -> list[Row]:
        """The node's rows in the window arrive `delay` later in the file (a buffered upload)."""
        end = self.clamp(end)
        lo, hi, later = iso(start), iso(end), iso(end + delay)
        moved = [r for r in rows if r[1] == node and lo <= r[0] < hi]
        kept = [r for r in rows if not (r[1] == node and lo <= r[0] < hi)]
        at = next((i for i, r in enumerate(kept) if r[0] >= later), len(kept))
        self.events.append(
            _event(
                f"out-of-order-{node}",
                "out_of_order",
                dma,
                node,
                None,
                start,
                end,
                len(moved),
                "rows",
                f"{node}'s rows of the window appear {delay} later in the file",
            )
        )
        return kept[:at] + moved + kept[at:]

    def malformed(self, rows: list[Row], dma: str, node: str, metric: str, unit: str, at: datetime) -> list[Row]:
        """Rows no importer should accept: bad timestamps, non-numeric values, an unknown node."""
        t = iso(at)
        bad = [
            ("2026-13-45T25:61:00Z", node, metric, "3.1", unit),
            ("yesterday", node, metric, "3.1", unit),
            ("", node, metric, "3.1", unit),
            (t, node, metric, "n/a", unit),
            (t, node, metric, "#####", unit),
            (t, node, metric, "NaN", unit),
            (t, "SEL-XX-99", metric, "3.2", unit),
            (t, "UNKNOWN-NODE", "pressure", "2.9", "bar"),
        ]
        at_index = next(i for i, r in enumerate(rows) if r[0] >= t)
        self.events.append(
            _event(
                "malformed-1",
                "malformed_rows",
                None,
                None,
                None,
                at,
                at + self.step,
                len(bad),
                "rows",
                "rows with an unparseable timestamp, a non-numeric or NaN value, "
                "or an unknown node, inserted here in the file",
            )
        )
        return rows[:at_index] + bad + rows[at_index:]
