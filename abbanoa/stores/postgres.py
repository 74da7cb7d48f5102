"""PostgreSQL access: one SQLAlchemy engine per process, created lazily."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from abbanoa.errors import ServiceUnavailable
from abbanoa.settings import Settings, get_settings

_engines: dict[str, Engine] = {}


def engine(settings: Settings | None = None) -> Engine:
    """The engine for the configured database (one per URL, pooled)."""
    settings = settings or get_settings()
    url = settings.sqlalchemy_url
    if url not in _engines:
        _engines[url] = sa.create_engine(
            url,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=5,
            # socket timeout: a dead server fails a query instead of hanging it; long enough
            # for the slowest legitimate statement of a job
            connect_args={"timeout": 600},
        )
    return _engines[url]


def dispose_engines() -> None:
    """Close every pooled connection (tests, forked workers)."""
    for eng in _engines.values():
        eng.dispose()
    _engines.clear()


def describe(settings: Settings) -> str:
    """The database URL without its password, for messages."""
    return sa.make_url(settings.sqlalchemy_url).render_as_string(hide_password=True)


def check(settings: Settings | None = None) -> None:
    """Raise ServiceUnavailable with one readable line when the database cannot be reached."""
    settings = settings or get_settings()
    probe = sa.create_engine(settings.sqlalchemy_url, poolclass=sa.pool.NullPool, connect_args={"timeout": 5})
    try:
        with probe.connect() as conn:
            conn.execute(sa.text("select 1"))
    except Exception as exc:  # driver errors vary: DNS, refused, auth, unknown database
        raise ServiceUnavailable(f"PostgreSQL at {describe(settings)} is unreachable: {_reason(exc)}") from exc
    finally:
        probe.dispose()


def _reason(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    args = getattr(original, "args", ())
    if args and isinstance(args[0], dict) and "M" in args[0]:  # pg8000 server error fields
        return args[0]["M"]
    message = str(original).strip().splitlines()
    return message[0] if message else type(exc).__name__


@contextmanager
def transaction(settings: Settings | None = None):
    """A connection inside one transaction, committed on success, rolled back on error."""
    with engine(settings).begin() as conn:
        yield conn


def copy_rows(
    conn: sa.Connection,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence],
) -> int:
    """Bulk-load rows with COPY FROM STDIN (CSV) on the connection's transaction; returns rows sent."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    count = 0
    for row in rows:
        writer.writerow(["\\N" if v is None else _csv_value(v) for v in row])
        count += 1
    if count == 0:
        return 0
    buffer.seek(0)
    raw = conn.connection.driver_connection  # pg8000 native connection
    cols = ", ".join(columns)
    raw.run(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", stream=buffer)
    return count


def _csv_value(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
