"""HTTP parameter parsing of the views: query strings to typed values, or InvalidParameter
naming the field (answered as 400 by api/errors.py)."""

from __future__ import annotations

import datetime as dt

from abbanoa.repository import InvalidParameter

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50


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
