"""Parameter declarations and JSON-body helpers of the views (parsing: api/params.py)."""

from __future__ import annotations

from typing import Any

from flask import request

from abbanoa.repository import InvalidParameter
from api.params import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, parse_int
from api.routes import Param

PAGINATION = (
    Param("limit", type="integer", description=f"page size, 1-{MAX_PAGE_SIZE}"),
    Param("offset", type="integer", description="items to skip, 0-1000000"),
)
TIME_WINDOW = (
    Param("from", format="date-time", description="start (ISO 8601 with zone, or a date)"),
    Param("to", format="date-time", description="end, exclusive"),
)


def pagination() -> tuple[int, int]:
    return (
        parse_int("limit", request.args.get("limit"), DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE),
        parse_int("offset", request.args.get("offset"), 0, 0, 1_000_000),
    )


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidParameter("body", "expected a JSON object")
    return body


def body_string(body: dict, name: str, required: bool = True, max_len: int = 1024) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidParameter(name, "is required")
        return None
    if not isinstance(value, str) or not value or len(value) > max_len or "\x00" in value:
        raise InvalidParameter(name, f"must be a non-empty string of at most {max_len} characters, without NUL")
    return value
