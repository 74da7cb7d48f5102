"""The Selargius SCADA report: Italian labels, decimal commas, local time across DST."""

from __future__ import annotations

import pandas as pd

from abbanoa.ingest import selargius


def test_labels_map_to_nodes_and_canonical_metrics():
    names = [
        "DATA",
        "ORA",
        "(SELARGIUS) NODO VIA SENECA - PORTATA W ISTANTANEA DIRETTA",
        "(SELARGIUS) NODO VIA SENECA - PORTATA W TOTALE DIRETTA",
        "(SELARGIUS) NODO VIA SENECA - PRESSIONE USCITA",
        "(SELARGIUS) NODO VIA SENECA - TEMPERATURA INTERNA",
        "(SELARGIUS) SERBATOIO SELARGIUS - PORTATA USCITA MQ",
        "(QUARTUCCIU) SERBATOIO CUCCURU LINU - TOTALIZZATORE PORTATA SELARGIUS",
    ]
    units = ["", "", "L/S", "M3", "BAR", "degC", "M3", "M3"]

    columns = selargius.parse_header(names, units)

    assert [c.metric for c in columns] == [
        "flow_rate",
        "total_flow",
        "pressure",
        "temperature",
        "total_flow",
        "total_flow",
    ]
    assert columns[0].node_id == "selargius-nodo-via-seneca"
    assert columns[0].node_name == "Nodo Via Seneca (Selargius)"
    assert columns[4].node_type == "tank"


def test_boundary_meters_follow_the_district_topology():
    names = [
        "DATA",
        "ORA",
        "(SELARGIUS) NODO VIA SANT ANNA - PORTATA W ISTANTANEA DIRETTA",
        "(SELARGIUS) SERBATOIO SELARGIUS - PORTATA USCITA",
        "(QUARTUCCIU) SERBATOIO CUCCURU LINU - PORTATA SELARGIUS",
    ]
    rows = selargius.registry_rows(selargius.parse_header(names, ["", "", "L/S", "L/S", "L/S"]))

    directions = {m["node_id"]: m["direction"] for m in rows["district_meters"]}
    assert directions == {
        "selargius-nodo-via-sant-anna": 1,
        "selargius-serbatoio-selargius": -1,
        "quartucciu-serbatoio-cuccuru-linu": 1,
    }


def test_the_repeated_autumn_hour_is_summer_time_then_winter_time():
    clock = selargius.LocalClock("Europe/Rome")
    data = pd.Series(["27/10/2024"] * 6)
    ora = pd.Series(["01:30:00", "02:00:00", "02:30:00", "02:00:00", "02:30", "03:00:00"])

    utc, unparseable, nonexistent = clock.to_utc(data, ora)

    assert [t.strftime("%H:%M") for t in utc] == ["23:30", "00:00", "00:30", "01:00", "01:30", "02:00"]
    assert not unparseable.any() and not nonexistent.any()


def test_the_repeat_is_recognised_across_chunks():
    clock = selargius.LocalClock("Europe/Rome")
    first, *_ = clock.to_utc(pd.Series(["27/10/2024"]), pd.Series(["02:00:00"]))
    second, *_ = clock.to_utc(pd.Series(["27/10/2024"]), pd.Series(["02:00:00"]))

    assert (second.iloc[0] - first.iloc[0]) == pd.Timedelta(hours=1)


def test_a_skipped_spring_time_is_flagged_not_guessed():
    clock = selargius.LocalClock("Europe/Rome")
    utc, unparseable, nonexistent = clock.to_utc(
        pd.Series(["30/03/2025", "30/03/2025", "32/03/2025"]), pd.Series(["01:30:00", "02:30:00", "01:00:00"])
    )

    assert nonexistent.tolist() == [False, True, False]
    assert unparseable.tolist() == [False, False, True]
    assert utc.iloc[0] == pd.Timestamp("2025-03-30T00:30:00Z")


def test_decimal_commas_and_thousands_separators_become_numbers():
    columns = selargius.parse_header(["DATA", "ORA", "(S) N - PORTATA W TOTALE"], ["", "", "M3"])
    chunk = pd.DataFrame(
        {"DATA": ["13/11/2024", "13/11/2024"], "ORA": ["06:00:00", "06:30:00"], "c2": ["1.234.567,8", ""]}
    )
    chunk["line_no"] = [3, 4]
    chunk["raw"] = ["a", "b"]

    readings, rejected, empty = selargius.explode(chunk, columns, selargius.LocalClock("Europe/Rome"))

    assert readings["value"].tolist() == ["1234567.8"]
    assert readings["timestamp"].tolist() == ["2024-11-13T05:00:00Z"]
    assert rejected.empty and empty == 1
