"""Errors, parameter parsing and JSON helpers shared by the repository modules."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from abbanoa.errors import AbbanoaError

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50


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


def parse_time(field: str, value: str | None, default: dt.datetime | None = None) -> dt.datetime | None:
    """An ISO 8601 timestamp with a zone (or a bare date = UTC midnight); InvalidParameter otherwise."""
    if value is None or value == "":
        return default
    text = value.strip()
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidParameter(field, f"not an ISO 8601 timestamp: {value!r}") from None
    if parsed.tzinfo is None:
        if len(text) == 10:  # a bare date
            parsed = parsed.replace(tzinfo=dt.UTC)
        else:
            raise InvalidParameter(field, "timestamp needs a time zone (e.g. 2024-05-01T00:00:00Z)")
    if not (1970 <= parsed.year <= 2200):
        raise InvalidParameter(field, "year out of range 1970-2200")
    return parsed.astimezone(dt.UTC)


def check_range(start: dt.datetime, end: dt.datetime, max_span: dt.timedelta | None = None) -> None:
    if end <= start:
        raise InvalidParameter("to", "must be after 'from'")
    if max_span is not None and end - start > max_span:
        raise InvalidParameter("to", f"range longer than {max_span.days} days; use a coarser resolution")


def parse_int(field: str, value: str | None, default: int, low: int, high: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidParameter(field, f"not an integer: {value!r}") from None
    if not (low <= number <= high):
        raise InvalidParameter(field, f"must be between {low} and {high}")
    return number


def parse_bool(field: str, value: str | None) -> bool | None:
    if value is None or value == "":
        return None
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise InvalidParameter(field, f"must be true or false, got {value!r}")


def parse_choice(field: str, value: str | None, allowed, default: str | None = None) -> str | None:
    if value is None or value == "":
        return default
    if value not in allowed:
        raise InvalidParameter(field, f"must be one of {', '.join(allowed)}; got {value!r}")
    return value


def page(limit: int, offset: int, total: int, items: list) -> dict[str, Any]:
    return {"items": items, "total": int(total), "limit": limit, "offset": offset}
