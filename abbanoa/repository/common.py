"""Errors, row helpers and paging shared by the repository modules (data access only: HTTP
parameter parsing lives in api/params.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from abbanoa.errors import AbbanoaError


class NotFound(AbbanoaError):
    """The object does not exist for this tenant (another tenant's objects look the same)."""


class InvalidParameter(AbbanoaError):
    """A request parameter is malformed; `field` names it."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def iso(value: Any) -> Any:
    """ISO 8601 for datetimes/dates, the value otherwise."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def row_dict(row) -> dict[str, Any]:
    return {k: iso(v) for k, v in row._mapping.items()}


def one_row(conn, sql: str, params: dict[str, Any], missing: str) -> dict[str, Any]:
    """The one row of a tenant-scoped lookup, as a dict; NotFound(`missing`) when there is none
    (another tenant's row is missing too)."""
    row = conn.execute(sa.text(sql), params).first()
    if row is None:
        raise NotFound(missing)
    return row_dict(row)


def overlapping(params: dict[str, Any], start, end, start_col: str, end_col: str | None = None) -> str:
    """The SQL conditions (" AND ...", possibly empty) for rows overlapping [start, end) when
    either bound may be None; a row is a point (`start_col` alone) or a span (`start_col` to
    `end_col`). Adds :start / :end to `params`."""
    cond = ""
    if start is not None:
        cond += f" AND {end_col or start_col} >= :start"
        params["start"] = start
    if end is not None:
        cond += f" AND {start_col} < :end"
        params["end"] = end
    return cond


def page(limit: int, offset: int, total: int, items: list) -> dict[str, Any]:
    return {"items": items, "total": int(total), "limit": limit, "offset": offset}
