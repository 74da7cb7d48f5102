"""District report for any period: PDF (charts and tables), CSV and Excel.

Pure: `ReportData` in (the efficiency items and anomalies as the repository returns them),
bytes out. Charts are rendered with matplotlib (Agg) and embedded as PNG.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from abbanoa.analytics import kpi, water_balance
from abbanoa.reports import safe

CSV_COLUMNS = (
    "day",
    "net_inflow_m3",
    "consumption_m3",
    "losses_m3",
    "nrw_pct",
    "mnf_l_s",
    "ili",
    "m1a_m3_km_day",
    "m1b_pct",
    "partial",
)
SECTIONS = ("Summary", "Water balance", "Loss indicators", "Anomalies")


@dataclass
class ReportData:
    district: dict[str, Any]
    start: dt.date
    end: dt.date  # inclusive local day
    efficiency: list[dict[str, Any]] = field(default_factory=list)
    anomalies: list[dict[str, Any]] = field(default_factory=list)
    timezone: str = "Europe/Rome"
    previous: list[dict[str, Any]] = field(default_factory=list)  # the period before, same length


def default_period(months: list[dict[str, Any]], today: dt.date, timezone: str) -> tuple[dt.date, dt.date]:
    """The report's default period: the newest ended local month that has figures (month rows
    as the API returns them); without one, the current month up to yesterday."""
    zone = ZoneInfo(timezone)
    this_month = today.replace(day=1)
    ended = []
    for m in months:
        start = dt.datetime.fromisoformat(str(m["period_start"]).replace("Z", "+00:00")).astimezone(zone).date()
        if start < this_month and m.get("net_inflow_m3") is not None:
            ended.append(start)
    if ended:
        first = max(ended)
        last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        return first, last
    return this_month, max(this_month, today - dt.timedelta(days=1))


def previous_period(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """The period of the same length just before: the previous month for a whole month."""
    if start.day == 1 and (end + dt.timedelta(days=1)).day == 1:
        last = start - dt.timedelta(days=1)
        return last.replace(day=1), last
    length = end - start
    return start - length - dt.timedelta(days=1), start - dt.timedelta(days=1)


def rows(data: ReportData) -> list[dict[str, Any]]:
    """One row per local day, oldest first, with CSV_COLUMNS."""
    out = []
    for item in sorted(data.efficiency, key=lambda i: i["period_start"]):
        day = dt.datetime.fromisoformat(item["period_start"].replace("Z", "+00:00")).astimezone(ZoneInfo(data.timezone))
        out.append({"day": day.date().isoformat(), **{c: item.get(c) for c in CSV_COLUMNS[1:]}})
    return out


def totals(data: ReportData, previous: bool = False) -> dict[str, Any]:
    """The period's figures: water_balance.range_figures over its complete days (the same
    definition as the API and the dashboard), with the ARERA M1 class."""
    figures = water_balance.range_figures(data.previous if previous else data.efficiency)
    figures["arera_class"] = kpi.arera_m1_class(figures["m1a_m3_km_day"], figures["m1b_pct"])
    # the names the report used before
    figures["net_inflow_m3"] = figures["input_m3"]
    return figures


def to_csv(data: ReportData) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(safe.row(r) for r in rows(data))
    return buf.getvalue().encode()


def to_excel(data: ReportData) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "daily"
    ws.append(list(CSV_COLUMNS))
    for r in rows(data):
        safe.append_row(ws, [r[c] for c in CSV_COLUMNS])
    an = wb.create_sheet("anomalies")
    cols = ["anomaly_id", "severity", "status", "anomaly_type", "node_id", "metric", "start_ts", "end_ts"]
    an.append(cols)
    for a in data.anomalies:
        safe.append_row(an, [_export_time(a.get(c), data.timezone) if c.endswith("_ts") else a.get(c) for c in cols])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _export_time(value, timezone: str) -> str | None:
    """Exports keep the instant: local time with its UTC offset (ISO 8601)."""
    if not value:
        return None
    ts = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return ts.astimezone(ZoneInfo(timezone)).isoformat()


def _chart(r: list[dict], keys: list[str], ylabel: str, title: str, kind: str = "line") -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 2.8), dpi=110)
    days = [dt.date.fromisoformat(x["day"]) for x in r]
    bottom = [0.0] * len(r)
    for key in keys:
        values = [x[key] if x[key] is not None else float("nan") for x in r]
        if kind == "bar":
            ax.bar(days, [0 if v != v else v for v in values], bottom=bottom, label=key)
            bottom = [b + (0 if v != v else v) for b, v in zip(bottom, values, strict=True)]
        else:
            ax.plot(days, values, marker=".", label=key)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("day (Europe/Rome)")
    ax.legend(fontsize=7)
    fig.autofmt_xdate()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def _local(value, timezone: str, fmt: str = "%d/%m/%Y %H:%M") -> str:
    if not value:
        return ""
    ts = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return ts.astimezone(ZoneInfo(timezone)).strftime(fmt)


def _fmt(value, digits=1) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def to_pdf(data: ReportData) -> bytes:
    from fpdf import FPDF

    r = rows(data)
    t = totals(data)
    d = data.district
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(
        0,
        10,
        f"District report: {d.get('name') or d['district_id']} ({d['district_id']})",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(
        0,
        6,
        f"Period {data.start.strftime('%d/%m/%Y')} to {data.end.strftime('%d/%m/%Y')} (local days, {data.timezone})",
        new_x="LMARGIN",
        new_y="NEXT",
    )

    def heading(text):
        pdf.ln(3)
        pdf.set_font("Helvetica", "B", 13)
        pdf.cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 9)

    heading("Summary")
    p = totals(data, previous=True)
    pdf.set_font("Helvetica", "B", 9)
    pdf.cell(78, 6, "Figure (complete local days)")
    pdf.cell(50, 6, "This period")
    pdf.cell(0, 6, "Previous period", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    no_billing = "no billing data"
    for label, now_v, prev_v in (
        ("System input [m\u00b3]", _fmt(t["input_m3"], 0), _fmt(p["input_m3"], 0)),
        ("Billed consumption [m\u00b3]", _fmt(t["consumption_m3"], 0) if t["consumption_m3"] is not None
         else no_billing, _fmt(p["consumption_m3"], 0) if p["consumption_m3"] is not None else no_billing),
        ("Real losses, night-flow estimate [m\u00b3]", _fmt(t["losses_m3"], 0), _fmt(p["losses_m3"], 0)),
        ("Non-revenue water [%]", _fmt(t["nrw_pct"]) if t["nrw_pct"] is not None else no_billing,
         _fmt(p["nrw_pct"]) if p["nrw_pct"] is not None else no_billing),
        ("Minimum night flow, mean [l/s]", _fmt(t["mnf_l_s"], 2), _fmt(p["mnf_l_s"], 2)),
        ("ILI [-]", _fmt(t["ili"], 2), _fmt(p["ili"], 2)),
        ("ARERA M1a [m\u00b3/km/day]", _fmt(t["m1a_m3_km_day"], 1), _fmt(p["m1a_m3_km_day"], 1)),
        ("ARERA M1b [%]", _fmt(t["m1b_pct"]), _fmt(p["m1b_pct"])),
        ("ARERA M1 class (A best, E worst)", t["arera_class"] or "n/a", p["arera_class"] or "n/a"),
        ("Complete days", str(t["days"]), str(p["days"])),
        ("Anomalies in period", str(len(data.anomalies)), ""),
    ):  # fmt: skip
        pdf.cell(78, 6, label)
        pdf.cell(50, 6, now_v)
        pdf.cell(0, 6, prev_v, new_x="LMARGIN", new_y="NEXT")
    if t["partial_days"]:
        pdf.cell(0, 6, f"{t['partial_days']} partial day(s) in the period are listed below but not counted.",
                 new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    heading("Water balance")
    if r:
        pdf.image(
            io.BytesIO(_chart(r, ["consumption_m3", "losses_m3"], "volume [m3]", "Daily water balance", "bar")), w=180
        )
        with pdf.table() as table:
            table.row(["day", "inflow m3", "consumption m3", "losses m3", "NRW %"])
            for x in r:
                table.row(
                    [
                        x["day"],
                        _fmt(x["net_inflow_m3"], 0),
                        _fmt(x["consumption_m3"], 0),
                        _fmt(x["losses_m3"], 0),
                        _fmt(x["nrw_pct"]),
                    ]
                )
    else:
        pdf.cell(0, 6, "No data for this district in this range.", new_x="LMARGIN", new_y="NEXT")
    heading("Loss indicators")
    if r:
        pdf.image(io.BytesIO(_chart(r, ["mnf_l_s"], "MNF [l/s]", "Minimum night flow")), w=180)
        pdf.image(io.BytesIO(_chart(r, ["ili", "m1b_pct"], "ILI [-] / M1b [%]", "ILI and M1b")), w=180)
    else:
        pdf.cell(0, 6, "No data for this district in this range.", new_x="LMARGIN", new_y="NEXT")
    heading("Anomalies")
    if data.anomalies:
        with pdf.table() as table:
            table.row(["id", "severity", "status", "type", "node", f"start ({data.timezone})"])
            for a in data.anomalies[:200]:
                table.row(
                    [
                        str(a.get("anomaly_id")),
                        str(a.get("severity")),
                        str(a.get("status")),
                        str(a.get("anomaly_type") or "").replace("_", " "),
                        str(a.get("node_id") or a.get("district_id") or ""),
                        _local(a.get("start_ts"), data.timezone),
                    ]
                )
    else:
        pdf.cell(0, 6, "No anomalies in this period.", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
