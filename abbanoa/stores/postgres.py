"""PostgreSQL access: one SQLAlchemy engine per process, created lazily."""

from __future__ import annotations

import csv
import io
import ssl
from collections.abc import Iterable, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from abbanoa.errors import ConfigError, ServiceUnavailable
from abbanoa.settings import Settings, get_settings

_engines: dict[str, Engine] = {}
SSL_MODES = ("disable", "prefer", "require", "verify-ca", "verify-full")


def connection(settings: Settings, timeout: float) -> tuple[sa.URL, dict]:
    """The URL for the driver and its connect arguments. DATABASE_URL may carry libpq's
    `sslmode` and `sslrootcert` (the server's CA file, needed to verify); pg8000 takes them
    as an SSL context. `prefer` (the default, as in libpq) encrypts when the server offers
    TLS, unverified; `disable` never; `require` always, without checking who answers
    (unless sslrootcert is given: then, as in libpq, like verify-ca);
    `verify-ca` checks the certificate against the CA (Cloud SQL's server certificate does
    not name the private IP); `verify-full` the host name too."""
    url = sa.make_url(settings.sqlalchemy_url)
    query = dict(url.query)
    mode = str(query.pop("sslmode", "prefer"))
    root = query.pop("sslrootcert", None)
    args: dict = {"timeout": timeout}
    if mode not in SSL_MODES:
        raise ConfigError(f"DATABASE_URL sslmode={mode!r} is not supported: use one of {', '.join(SSL_MODES)}")
    if mode.startswith("verify") and not root:
        raise ConfigError(f"DATABASE_URL sslmode={mode} needs sslrootcert=<the server's CA file>")
    if root and mode in ("disable", "prefer"):
        raise ConfigError(f"DATABASE_URL sslrootcert is given but sslmode={mode} would not verify: use verify-ca")
    if mode == "disable":
        args["ssl_context"] = False
    elif mode != "prefer":  # pg8000's own default: TLS if offered, else plain
        try:
            context = ssl.create_default_context(cafile=root) if root else ssl.create_default_context()
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"DATABASE_URL sslrootcert={root!r} cannot be read: {exc}") from None
        if mode != "verify-full":
            context.check_hostname = False
        if mode == "require" and not root:  # as libpq: require with a CA file verifies against it
            context.verify_mode = ssl.CERT_NONE
        args["ssl_context"] = context
    return url.set(query=query), args


def engine(settings: Settings | None = None) -> Engine:
    """The engine for the configured database (one per URL, pooled)."""
    settings = settings or get_settings()
    key = settings.sqlalchemy_url
    if key not in _engines:
        # socket timeout: a dead server fails a query instead of hanging it; long enough
        # for the slowest legitimate statement of a job
        url, args = connection(settings, timeout=600)
        _engines[key] = sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5, connect_args=args)
    return _engines[key]


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
    url, args = connection(settings, timeout=5)
    probe = sa.create_engine(url, poolclass=sa.pool.NullPool, connect_args=args)
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
