"""Apply the ordered SQL migrations in sql/, record them, and sync the metrics catalogue.

Safe to run twice: applied files are recorded in schema_migrations (with a checksum, so
an edited, already-applied file is reported rather than silently re-run), and a lock
keeps two migrators from racing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from abbanoa.errors import AbbanoaError
from abbanoa.metrics import METRICS
from abbanoa.settings import Settings, get_settings
from abbanoa.stores import postgres

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
_LOCK_KEY = 7_201_123  # pg_advisory_xact_lock key reserved for migrations


@dataclass(frozen=True)
class Migration:
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text()

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def discover(sql_dir: Path = SQL_DIR) -> list[Migration]:
    """The migrations, ordered by file name (NNNN_description.sql)."""
    return [Migration(p.name, p) for p in sorted(sql_dir.glob("[0-9][0-9][0-9][0-9]_*.sql"))]


def apply_all(settings: Settings | None = None, sql_dir: Path = SQL_DIR) -> list[str]:
    """Apply every migration not yet recorded, each in its own transaction; returns their names."""
    settings = settings or get_settings()
    eng = postgres.engine(settings)
    applied_now: list[str] = []
    with eng.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " name text PRIMARY KEY, checksum text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
        )
    for migration in discover(sql_dir):
        with eng.begin() as conn:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
            recorded = conn.execute(
                sa.text("SELECT checksum FROM schema_migrations WHERE name = :n"), {"n": migration.name}
            ).scalar()
            if recorded is not None:
                if recorded != migration.checksum:
                    raise AbbanoaError(
                        f"migration {migration.name} changed after it was applied; "
                        "add a new migration instead of editing an applied one"
                    )
                continue
            conn.exec_driver_sql(migration.sql)
            conn.execute(
                sa.text("INSERT INTO schema_migrations (name, checksum) VALUES (:n, :c)"),
                {"n": migration.name, "c": migration.checksum},
            )
            applied_now.append(migration.name)
    if sql_dir == SQL_DIR:
        sync_metrics(settings)
    return applied_now


def sync_metrics(settings: Settings | None = None) -> None:
    """Upsert the metrics catalogue from abbanoa.metrics into PostgreSQL."""
    rows = [
        {
            "metric": m.name,
            "unit": m.unit,
            "min_value": m.min_value,
            "max_value": m.max_value,
            "kind": m.kind,
            "description": m.description,
        }
        for m in METRICS.values()
    ]
    with postgres.transaction(settings) as conn:
        conn.execute(
            sa.text(
                "INSERT INTO metrics (metric, unit, min_value, max_value, kind, description)"
                " VALUES (:metric, :unit, :min_value, :max_value, :kind, :description)"
                " ON CONFLICT (metric) DO UPDATE SET unit = EXCLUDED.unit,"
                " min_value = EXCLUDED.min_value, max_value = EXCLUDED.max_value,"
                " kind = EXCLUDED.kind, description = EXCLUDED.description"
            ),
            rows,
        )


def ensure_database(settings: Settings) -> bool:
    """Create the database named in DATABASE_URL if it does not exist (local use); True if created."""
    url, args = postgres.connection(settings, timeout=30)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT", connect_args=args)
    try:
        with admin.connect() as conn:
            exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": url.database}).scalar()
            if not exists:
                conn.exec_driver_sql(f'CREATE DATABASE "{url.database}"')
                return True
            return False
    finally:
        admin.dispose()


# --- CLI -------------------------------------------------------------------------------

HELP = "create or update the PostgreSQL schema (applies sql/*.sql not yet applied)"


def add_arguments(parser) -> None:
    parser.add_argument(
        "--create-database",
        action="store_true",
        help="create the database named in DATABASE_URL first if it does not exist",
    )


def run(args, settings: Settings) -> int:
    if args.create_database:
        try:
            if ensure_database(settings):
                print(f"created database {sa.make_url(settings.sqlalchemy_url).database}")
        except Exception as exc:
            postgres.check(settings)  # turns a connection failure into one readable line
            raise exc
    postgres.check(settings)
    applied = apply_all(settings)
    if applied:
        for name in applied:
            print(f"applied {name}")
        print(f"{len(applied)} migration(s) applied to {postgres.describe(settings)}")
    else:
        print(f"schema up to date ({postgres.describe(settings)}): nothing to apply")
    return 0
