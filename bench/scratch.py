"""A throwaway database (and BigQuery dataset and Redis prefix names) for one benchmark run."""

from __future__ import annotations

import contextlib
import uuid

import sqlalchemy as sa

from abbanoa import migrations
from abbanoa.settings import Settings, reset_settings
from abbanoa.stores import postgres


@contextlib.contextmanager
def scratch_settings(prefix: str = "bench"):
    """Settings pointing at a new, migrated database `abbanoa_{prefix}_{run}`, dropped on exit."""
    run = uuid.uuid4().hex[:8]
    base = Settings.from_env()
    url = sa.make_url(base.sqlalchemy_url).set(database=f"abbanoa_{prefix}_{run}")
    settings = base.with_(
        database_url=url.render_as_string(hide_password=False),
        bq_dataset=f"{prefix}_{run}",
        redis_key_prefix=f"{prefix}:{run}:",
    )
    reset_settings(settings)
    migrations.ensure_database(settings)
    migrations.apply_all(settings)
    try:
        yield settings
    finally:
        postgres.dispose_engines()
        admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
        admin.dispose()
