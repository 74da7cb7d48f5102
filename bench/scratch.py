"""A throwaway database (and BigQuery dataset and Redis prefix names) for one benchmark run."""

from __future__ import annotations

import contextlib
import os
import uuid

import sqlalchemy as sa

from abbanoa import migrations
from abbanoa.settings import Settings, reset_settings
from abbanoa.stores import postgres


def create(prefix: str = "bench", database_prefix: str = "abbanoa_", **changes) -> Settings:
    """Settings pointing at a new, migrated database `{database_prefix}{prefix}_{run}` (and
    dataset and key prefix of the same run), made the process's settings; `changes` override others."""
    run = uuid.uuid4().hex[:8]
    base = Settings.from_env()
    url = sa.make_url(base.sqlalchemy_url).set(database=f"{database_prefix}{prefix}_{run}")
    settings = base.with_(
        database_url=url.render_as_string(hide_password=False),
        bq_dataset=f"{prefix}_{run}",
        redis_key_prefix=f"{prefix}:{run}:",
        **changes,
    )
    reset_settings(settings)
    migrations.ensure_database(settings)
    migrations.apply_all(settings)
    return settings


def drop(settings: Settings) -> None:
    """Drop the run's database (its connections first) and its BigQuery dataset, if any."""
    from abbanoa.stores.bigquery import Warehouse

    with contextlib.suppress(Exception):
        warehouse = Warehouse(settings)
        warehouse.client.delete_dataset(warehouse.dataset, delete_contents=True, not_found_ok=True, timeout=30)
    postgres.dispose_engines()
    url, args = postgres.connection(settings, timeout=30)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT", connect_args=args)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
    admin.dispose()


@contextlib.contextmanager
def scratch_settings(prefix: str = "bench", database_prefix: str = "abbanoa_", **changes):
    """create() on entry, drop() on exit."""
    settings = create(prefix, database_prefix, **changes)
    try:
        yield settings
    finally:
        drop(settings)


def server_env(settings: Settings, root) -> dict[str, str]:
    """The environment of an API server process a benchmark starts on the scratch stores."""
    return {
        **os.environ,
        "PYTHONPATH": str(root),
        "ABBANOA_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "REDIS_KEY_PREFIX": settings.redis_key_prefix,
        "JWT_SECRET": settings.jwt_secret,
        "LOG_LEVEL": "WARNING",
    }
