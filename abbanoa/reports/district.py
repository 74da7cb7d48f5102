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


def rows(data: ReportData) -> list[dict[str, Any]]:
    """One row per local day, oldest first, with CSV_COLUMNS."""
    out = []
    for item in sorted(data.efficiency, key=lambda i: i["period_start"]):
        day = dt.datetime.fromisoformat(item["period_start"].replace("Z", "+00:00")).astimezone(ZoneInfo(data.timezone))
        out.append({"day": day.date().isoformat(), **{c: item.get(c) for c in CSV_COLUMNS[1:]}})
    return out


def totals(data: ReportData) -> dict[str, float | None]:
    r = rows(data)

    def total(key):
        values = [x[key] for x in r if x[key] is not None]
        return sum(values) if values else None

    inflow, losses = total("net_inflow_m3"), total("losses_m3")
    return {
        "net_inflow_m3": inflow,
        "consumption_m3": total("consumption_m3"),
        "losses_m3": losses,
        # NRW share of system input volume (IWA water balance, Alegre et al. 2006)
        "nrw_pct": 100.0 * losses / inflow if inflow and losses is not None else None,
    }


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
        safe.append_row(an, [a.get(c) for c in cols])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


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
        f"Period {data.start.isoformat()} to {data.end.isoformat()} (local days, {data.timezone})",
        new_x="LMARGIN",
        new_y="NEXT",
    )

    def heading(text):
        pdf.ln(3)
        pdf.set_font("Helvetica", "B", 13)
        pdf.cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 9)

    heading("Summary")
    for label, value in (
        ("System input volume [m3]", _fmt(t["net_inflow_m3"], 0)),
        ("Authorised consumption [m3]", _fmt(t["consumption_m3"], 0)),
        ("Water losses [m3]", _fmt(t["losses_m3"], 0)),
        ("Non-revenue water [%]", _fmt(t["nrw_pct"])),
        ("Days with figures", str(len(r))),
        ("Anomalies in period", str(len(data.anomalies))),
    ):
        pdf.cell(70, 6, label)
        pdf.cell(0, 6, value, new_x="LMARGIN", new_y="NEXT")
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
            table.row(["id", "severity", "status", "type", "node", "start (UTC)"])
            for a in data.anomalies[:200]:
                table.row(
                    [
                        str(a.get("anomaly_id")),
                        str(a.get("severity")),
                        str(a.get("status")),
                        str(a.get("anomaly_type")),
                        str(a.get("node_id")),
                        str(a.get("start_ts"))[:16],
                    ]
                )
    else:
        pdf.cell(0, 6, "No anomalies in this period.", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
