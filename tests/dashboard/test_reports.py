"""District report generation: PDF parsed back, CSV columns, Excel sheets."""

from __future__ import annotations

import csv
import datetime as dt
import io

from openpyxl import load_workbook
from pypdf import PdfReader

from abbanoa.reports import district as report

DAYS = [dt.date(2024, 3, 30) + dt.timedelta(days=i) for i in range(3)]  # across the spring DST change


def sample() -> report.ReportData:
    items = []
    for i, day in enumerate(DAYS):
        start = dt.datetime.combine(day, dt.time(), dt.timezone(dt.timedelta(hours=1 if i < 2 else 2)))
        inflow = 1000.0 + 100 * i
        items.append(
            {
                "period": "day",
                "period_start": start.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "net_inflow_m3": inflow,
                "consumption_m3": inflow * 0.75,
                "losses_m3": inflow * 0.25,
                "nrw_pct": 25.0,
                "mnf_l_s": 3.0 + i,
                "ili": 2.5,
                "m1a_m3_km_day": 20.0,
                "m1b_pct": None,  # not computable that day
            }
        )
    anomalies = [
        {
            "anomaly_id": 7,
            "severity": "high",
            "status": "open",
            "anomaly_type": "burst",
            "node_id": "N1",
            "metric": "flow_rate",
            "start_ts": "2024-03-31T02:00:00Z",
            "end_ts": None,
        }
    ]
    return report.ReportData(
        district={"district_id": "D1", "name": "Cagliari centro"},
        start=DAYS[0],
        end=DAYS[-1],
        efficiency=items[::-1],  # the API answers newest first
        anomalies=anomalies,
    )


def test_pdf_report_opens_and_has_every_section_with_the_period_totals():
    pdf = PdfReader(io.BytesIO(report.to_pdf(sample())))
    text = "\n".join(page.extract_text() for page in pdf.pages)
    for section in report.SECTIONS:
        assert section in text
    assert "Cagliari centro (D1)" in text
    assert "30/03/2024 to 01/04/2024" in text  # one date format, as on screen
    assert "3,300" in text  # system input 1000 + 1100 + 1200
    assert "25.0" in text  # NRW of the period
    assert "burst" in text
    images = sum(len(page.images) for page in pdf.pages)
    assert images == 3  # water balance, MNF, ILI/M1b charts


def test_csv_has_the_expected_columns_one_row_per_local_day_oldest_first():
    rows = list(csv.DictReader(io.StringIO(report.to_csv(sample()).decode())))
    assert tuple(rows[0]) == report.CSV_COLUMNS
    assert [r["day"] for r in rows] == [d.isoformat() for d in DAYS]  # local days, DST day included
    assert rows[0]["net_inflow_m3"] == "1000.0"
    assert rows[0]["m1b_pct"] == ""  # missing stays missing


def test_excel_has_daily_and_anomaly_sheets():
    wb = load_workbook(io.BytesIO(report.to_excel(sample())))
    assert wb.sheetnames == ["daily", "anomalies"]
    assert [c.value for c in wb["daily"][1]] == list(report.CSV_COLUMNS)
    assert wb["daily"].max_row == 4
    assert wb["anomalies"]["A2"].value == 7


def test_report_without_data_says_so():
    empty = report.ReportData(district={"district_id": "D9", "name": None}, start=DAYS[0], end=DAYS[0])
    text = PdfReader(io.BytesIO(report.to_pdf(empty))).pages[0].extract_text()
    assert "No data for this district in this range." in text
    assert report.to_csv(empty).decode().strip() == ",".join(report.CSV_COLUMNS)


def test_summary_uses_the_range_definition_with_the_previous_period_and_arera_class():
    data = sample()
    data.previous = [{**i, "net_inflow_m3": 500.0, "losses_m3": 50.0, "consumption_m3": 450.0} for i in data.efficiency]
    t, p = report.totals(data), report.totals(data, previous=True)
    assert t["input_m3"] == 3300.0 and t["losses_m3"] == 825.0 and t["nrw_pct"] == 25.0
    assert t["m1b_pct"] == 25.0 and t["arera_class"] == "C"  # M1a 20 m3/km/day -> class C
    assert p["input_m3"] == 1500.0 and p["m1b_pct"] == 10.0
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(report.to_pdf(data))).pages)
    assert "Previous period" in text and "1,500" in text and "ARERA M1 class" in text


def test_default_period_is_the_newest_ended_month_with_figures():
    months = [
        {"period_start": "2026-09-30T22:00:00Z", "net_inflow_m3": 10.0},  # October (Rome)
        {"period_start": "2026-10-31T23:00:00Z", "net_inflow_m3": 10.0},  # November
        {"period_start": "2026-11-30T23:00:00Z", "net_inflow_m3": 10.0},  # December: not ended
    ]
    today = dt.date(2026, 12, 4)
    assert report.default_period(months, today, "Europe/Rome") == (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert report.default_period([], today, "Europe/Rome") == (dt.date(2026, 12, 1), dt.date(2026, 12, 3))
    assert report.previous_period(dt.date(2026, 11, 1), dt.date(2026, 11, 30)) == (
        dt.date(2026, 10, 1),
        dt.date(2026, 10, 31),
    )
