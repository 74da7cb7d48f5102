"""Nodes, districts and district meters: validated, then written to the warehouse
(append-only, latest `updated_at` wins; an unchanged row is not appended again) and
upserted into the PostgreSQL registry of the tenant (docs/CONTRACTS.md, "Import")."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import pandas as pd
import sqlalchemy as sa

from abbanoa.ingest import formats
from abbanoa.ingest.validation import INVALID_FIELD, INVALID_ID, TENANT_CONFLICT, UNKNOWN_NODE, InvalidId, check_id
from abbanoa.stores.bigquery import Warehouse, array_param

# kind -> (warehouse table, key columns, value columns)
TABLES = {
    formats.DISTRICTS: (
        "districts",
        ("dma_id",),
        (
            "name",
            "mains_length_km",
            "service_connections",
            "private_pipe_km",
            "avg_pressure_m",
            "night_use_l_per_conn_h",
        ),
    ),
    formats.NODES: ("nodes", ("node_id",), ("name", "node_type", "latitude", "longitude", "dma_id")),
    formats.DISTRICT_METERS: ("district_meters", ("dma_id", "node_id"), ("direction",)),
}


@dataclass
class Parsed:
    """Accepted registry rows (dicts keyed by the warehouse columns) and rejected ones."""

    rows: list[dict] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)  # line_no, raw, reason, detail
    superseded: int = 0  # lines replaced by a later line for the same id


# --- parsing (pure) -------------------------------------------------------------------


def _text(value) -> str | None:
    value = "" if value is None else str(value).strip()
    return value or None


def _number(value, name: str, low: float | None = None, high: float | None = None, *, strict_low=False):
    text = _text(value)
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"{name} {text!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} {text!r} is not a finite number")
    if low is not None and (number <= low if strict_low else number < low):
        raise ValueError(f"{name} {number:g} must be {'>' if strict_low else '>='} {low:g}")
    if high is not None and number > high:
        raise ValueError(f"{name} {number:g} must be <= {high:g}")
    return number


def parse_row(kind: str, row: dict) -> dict:
    """One registry row of strings -> typed values; ValueError naming the bad field."""
    if kind == formats.NODES:
        node_id = _text(row["node_id"])
        if node_id is None:
            raise ValueError("node_id is empty")
        return {
            "node_id": check_id("node_id", node_id),
            "name": _text(row["name"]),
            "node_type": _text(row["node_type"]),
            "latitude": _number(row["latitude"], "latitude", -90, 90),
            "longitude": _number(row["longitude"], "longitude", -180, 180),
            "dma_id": _text(row["dma_id"]) and check_id("dma_id", _text(row["dma_id"])),
        }
    if kind == formats.DISTRICTS:
        dma_id = _text(row["dma_id"])
        if dma_id is None:
            raise ValueError("dma_id is empty")
        check_id("dma_id", dma_id)
        connections = _number(row["service_connections"], "service_connections", 0)
        if connections is not None and connections != int(connections):
            raise ValueError(f"service_connections {connections:g} is not a whole number")
        # the same bounds as the PostgreSQL CHECK constraints (sql/0001_core.sql)
        return {
            "dma_id": dma_id,
            "name": _text(row["name"]),
            "mains_length_km": _number(row["mains_length_km"], "mains_length_km", 0, strict_low=True),
            "service_connections": None if connections is None else int(connections),
            "private_pipe_km": _number(row["private_pipe_km"], "private_pipe_km", 0),
            "avg_pressure_m": _number(row["avg_pressure_m"], "avg_pressure_m", 0, strict_low=True),
            "night_use_l_per_conn_h": _number(row["night_use_l_per_conn_h"], "night_use_l_per_conn_h", 0),
        }
    if kind == formats.DISTRICT_METERS:
        dma_id, node_id = _text(row["dma_id"]), _text(row["node_id"])
        if dma_id is None or node_id is None:
            raise ValueError("dma_id and node_id must not be empty")
        check_id("dma_id", dma_id)
        check_id("node_id", node_id)
        direction = _text(row["direction"])
        if direction not in ("1", "-1", "+1"):
            raise ValueError(f"direction {direction!r} must be 1 (into the district) or -1 (out of it)")
        return {"dma_id": dma_id, "node_id": node_id, "direction": int(direction)}
    raise ValueError(f"not a registry kind: {kind}")


def parse_frame(kind: str, frame: pd.DataFrame) -> Parsed:
    """Parse a chunk of a registry file; a later line for the same key replaces an earlier one."""
    parsed = Parsed()
    by_key: dict[tuple, dict] = {}
    keys = TABLES[kind][1]
    for record in frame.to_dict("records"):
        try:
            row = parse_row(kind, record)
        except ValueError as exc:
            parsed.rejected.append(
                {
                    "line_no": record["line_no"],
                    "raw": record["raw"],
                    "reason": INVALID_ID if isinstance(exc, InvalidId) else INVALID_FIELD,
                    "detail": str(exc),
                }
            )
            continue
        row["_line"] = (record["line_no"], record["raw"])
        key = tuple(row[k] for k in keys)
        parsed.superseded += key in by_key
        by_key[key] = row
    parsed.rows = list(by_key.values())
    return parsed


def reject(parsed: Parsed, row: dict, reason: str, detail: str) -> None:
    line_no, raw = row["_line"]
    parsed.rejected.append({"line_no": line_no, "raw": raw, "reason": reason, "detail": detail})


# --- the stores -----------------------------------------------------------------------


def ensure_tenant(conn: sa.Connection, tenant_id: str) -> None:
    conn.execute(
        sa.text("INSERT INTO tenants (tenant_id, name) VALUES (:t, :t) ON CONFLICT (tenant_id) DO NOTHING"),
        {"t": tenant_id},
    )


def known_nodes(conn: sa.Connection, warehouse: Warehouse, tenant_id: str) -> set[str]:
    """Node ids of the tenant in the PostgreSQL registry or the warehouse node registry."""
    ids = set(conn.execute(sa.text("SELECT node_id FROM nodes WHERE tenant_id = :t"), {"t": tenant_id}).scalars())
    rows = warehouse.query_rows(
        "SELECT node_id FROM (SELECT node_id, tenant_id FROM `{dataset}.nodes` "
        "QUALIFY ROW_NUMBER() OVER (PARTITION BY node_id ORDER BY updated_at DESC) = 1) "
        "WHERE tenant_id = @t",
        [_param("t", tenant_id)],
    )
    ids.update(r["node_id"] for r in rows)
    return ids


def _param(name, value):
    from abbanoa.stores.bigquery import param

    return param(name, "STRING", value)


def _owners(conn: sa.Connection, table: str, column: str, ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    result = conn.execute(sa.text(f"SELECT {column}, tenant_id FROM {table} WHERE {column} = ANY(:ids)"), {"ids": ids})
    return {row[0]: row[1] for row in result}


def check_tenants(conn: sa.Connection, kind: str, parsed: Parsed, tenant_id: str) -> None:
    """Reject rows naming a node or district that another tenant owns."""
    node_ids = [r["node_id"] for r in parsed.rows if r.get("node_id")]
    dma_ids = [r["dma_id"] for r in parsed.rows if r.get("dma_id")]
    node_owner = _owners(conn, "nodes", "node_id", node_ids)
    dma_owner = _owners(conn, "districts", "district_id", dma_ids)
    keep = []
    for row in parsed.rows:
        for ident, owners, what in (
            (row.get("node_id"), node_owner, "node"),
            (row.get("dma_id"), dma_owner, "district"),
        ):
            if ident and owners.get(ident, tenant_id) != tenant_id:
                reject(parsed, row, TENANT_CONFLICT, f"{what} {ident!r} belongs to another tenant")
                break
        else:
            keep.append(row)
    parsed.rows = keep


def check_meter_nodes(parsed: Parsed, nodes: set[str]) -> None:
    keep = []
    for row in parsed.rows:
        if row["node_id"] in nodes:
            keep.append(row)
        else:
            reject(parsed, row, UNKNOWN_NODE, f"meter node {row['node_id']!r} is not in the node registry")
    parsed.rows = keep


def to_warehouse(
    warehouse: Warehouse, kind: str, rows: list[dict], tenant_id: str, now: dt.datetime, *, only_missing=False
) -> int:
    """Append the rows that are new or changed (latest updated_at wins); returns how many."""
    table, keys, values = TABLES[kind]
    if not rows:
        return 0
    first = keys[0]
    latest = warehouse.query_rows(
        f"SELECT * FROM `{{dataset}}.{table}` WHERE {first} IN UNNEST(@ids) "
        f"QUALIFY ROW_NUMBER() OVER (PARTITION BY {', '.join(keys)} ORDER BY updated_at DESC) = 1",
        [array_param("ids", "STRING", sorted({r[first] for r in rows}))],
    )
    current = {tuple(r[k] for k in keys): r for r in latest}
    with_tenant = table in ("nodes", "districts")
    fresh = []
    for row in rows:
        old = current.get(tuple(row[k] for k in keys))
        if old is not None:
            unchanged = all(_same(old.get(c), row[c]) for c in values) and (
                not with_tenant or old.get("tenant_id") == tenant_id
            )
            if only_missing or unchanged:
                continue
        out = {c: row[c] for c in (*keys, *values)}
        if with_tenant:
            out["tenant_id"] = tenant_id
        out["updated_at"] = now.isoformat()
        fresh.append(out)
    return warehouse.load_rows(table, fresh)


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(float(a), float(b), rel_tol=1e-12)
    return a == b


def to_postgres(conn: sa.Connection, kind: str, rows: list[dict], tenant_id: str, *, only_missing=False) -> None:
    """Upsert into the tenant's PostgreSQL registry (never touching another tenant's rows)."""
    if not rows:
        return
    ensure_tenant(conn, tenant_id)
    dmas = sorted({r["dma_id"] for r in rows if r.get("dma_id")})
    if kind != formats.DISTRICTS and dmas:
        # a node or meter may name a district no districts file described yet
        conn.execute(
            sa.text(
                "INSERT INTO districts (district_id, tenant_id, name) VALUES (:d, :t, :d) "
                "ON CONFLICT (district_id) DO NOTHING"
            ),
            [{"d": d, "t": tenant_id} for d in dmas],
        )
    if kind == formats.DISTRICTS:
        params = [{**{k: r[k] for k in TABLES[kind][1] + TABLES[kind][2]}, "t": tenant_id} for r in rows]
        conn.execute(
            sa.text(
                "INSERT INTO districts (district_id, tenant_id, name) "
                "VALUES (:dma_id, :t, COALESCE(:name, :dma_id)) "
                "ON CONFLICT (district_id) DO NOTHING"
            ),
            params,
        )
        if not only_missing:
            conn.execute(
                sa.text(
                    "UPDATE districts SET name = COALESCE(:name, district_id), "
                    "mains_length_km = :mains_length_km, "
                    "service_connections = :service_connections, private_pipe_km = :private_pipe_km, "
                    "avg_pressure_m = :avg_pressure_m, "
                    "night_use_l_per_conn_h = COALESCE(:night_use_l_per_conn_h, night_use_l_per_conn_h), "
                    "updated_at = now() "
                    "WHERE district_id = :dma_id AND tenant_id = :t"
                ),
                params,
            )
    elif kind == formats.NODES:
        update = (
            "DO NOTHING"
            if only_missing
            else "DO UPDATE SET name = EXCLUDED.name, node_type = EXCLUDED.node_type, "
            "latitude = EXCLUDED.latitude, longitude = EXCLUDED.longitude, "
            "district_id = EXCLUDED.district_id, updated_at = now() "
            "WHERE nodes.tenant_id = EXCLUDED.tenant_id"
        )
        conn.execute(
            sa.text(
                "INSERT INTO nodes (node_id, tenant_id, name, node_type, latitude, longitude, district_id) "
                "VALUES (:node_id, :t, :name, :node_type, :latitude, :longitude, :dma_id) "
                f"ON CONFLICT (node_id) {update}"
            ),
            [{**_plain(r), "t": tenant_id} for r in rows],
        )
    elif kind == formats.DISTRICT_METERS:
        # a meter node known only to the warehouse registry gets its PostgreSQL row here
        conn.execute(
            sa.text("INSERT INTO nodes (node_id, tenant_id) VALUES (:n, :t) ON CONFLICT (node_id) DO NOTHING"),
            [{"n": r["node_id"], "t": tenant_id} for r in rows],
        )
        update = "DO NOTHING" if only_missing else "DO UPDATE SET direction = EXCLUDED.direction"
        conn.execute(
            sa.text(
                "INSERT INTO district_meters (district_id, node_id, direction) "
                "VALUES (:dma_id, :node_id, :direction) "
                f"ON CONFLICT (district_id, node_id) {update}"
            ),
            [{k: r[k] for k in ("dma_id", "node_id", "direction")} for r in rows],
        )


def _plain(row: dict) -> dict:
    return {k: v for k, v in row.items() if not k.startswith("_")}
