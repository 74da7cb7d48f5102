"""Fixtures against the real services: a fresh PostgreSQL database, Redis key prefix,
Pub/Sub project and BigQuery dataset per test session (per xdist worker).

A service that is not reachable fails the tests that need it, naming the service:
`make test` starts them all (local/services.sh).
"""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa

from abbanoa import migrations
from abbanoa import settings as settings_module
from abbanoa.settings import Settings
from abbanoa.stores import cache as cache_module
from abbanoa.stores import postgres

RUN_ID = uuid.uuid4().hex[:10]

# Tables whose rows tests create; emptied after each test using the `db` fixture.
_KEEP = {"schema_migrations", "metrics"}


def _require(service: str, check) -> None:
    try:
        check()
    except Exception as exc:
        pytest.fail(
            f"{service} is required for this test and is not reachable: {exc}. "
            "Start the local services with `make services` (local/services.sh up).",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def base_settings() -> Settings:
    """The settings of this test session: its own database, key prefix, project and dataset."""
    base = Settings.from_env({k: v for k, v in os.environ.items() if k != "ABBANOA_ENV"})
    url = sa.make_url(base.sqlalchemy_url).set(database=f"abbanoa_test_{RUN_ID}")
    return base.with_(
        env="test",
        database_url=url.render_as_string(hide_password=False),
        redis_key_prefix=f"test:{RUN_ID}:",
        gcp_project=f"test-{RUN_ID}",
        bq_dataset=f"test_{RUN_ID}",
        jwt_secret="test-secret-" + RUN_ID * 4,
    )


@pytest.fixture(autouse=True)
def _isolated_settings(base_settings, monkeypatch):
    """Every test sees the session settings through get_settings(); the environment is restored."""
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", base_settings.pubsub_emulator_host)
    settings_module.reset_settings(base_settings)
    yield
    settings_module.reset_settings(None)


@pytest.fixture(scope="session")
def database(base_settings):
    """A fresh, migrated database for the session; dropped at the end."""
    _require("PostgreSQL", lambda: _admin_check(base_settings))
    migrations.ensure_database(base_settings)
    migrations.apply_all(base_settings)
    yield base_settings
    postgres.dispose_engines()
    drop_database(base_settings)


def _admin(settings: Settings, **kwargs) -> tuple[sa.Engine, str]:
    """An engine on the server's `postgres` database (TLS settings of DATABASE_URL kept) and
    the name of the settings' own database."""
    url, args = postgres.connection(settings, timeout=30)
    return sa.create_engine(url.set(database="postgres"), connect_args=args, **kwargs), url.database


def _admin_check(settings: Settings) -> None:
    eng, _ = _admin(settings)
    try:
        with eng.connect() as conn:
            conn.execute(sa.text("select 1"))
    finally:
        eng.dispose()


def drop_database(settings: Settings) -> None:
    admin, name = _admin(settings, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture
def settings(base_settings) -> Settings:
    return base_settings


def empty_tables(eng) -> None:
    """Truncate every table of the test database but the migration record and the metrics."""
    with eng.begin() as conn:
        tables = conn.execute(
            sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'readings_p%'")
        ).scalars()
        names = [t for t in tables if t not in _KEEP]
        if names:
            conn.exec_driver_sql("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE")


def drop_session_keys(settings: Settings) -> None:
    """Delete this test session's Redis keys (its key prefix)."""
    cache_module.reset_clients()
    r = cache_module.client(settings)
    keys = list(r.scan_iter(match=f"{settings.redis_key_prefix}*", count=1000))
    if keys:
        r.delete(*keys)


@pytest.fixture
def db(database):
    """The session database's engine; every table emptied after the test."""
    eng = postgres.engine(database)
    yield eng
    empty_tables(eng)


@pytest.fixture
def cache(base_settings):
    """A Cache on the real Redis under this session's prefix; its keys are removed after."""
    c = cache_module.Cache(base_settings)
    _require("Redis", lambda: cache_module.client(base_settings).ping())
    yield c
    drop_session_keys(base_settings)


@pytest.fixture(scope="session")
def warehouse(base_settings):
    """The BigQuery emulator with this session's dataset and every warehouse table."""
    from abbanoa.stores.bigquery import Warehouse

    wh = Warehouse(base_settings)
    _require(f"BigQuery emulator ({base_settings.bigquery_emulator_host})", wh.check)
    wh.create_all()
    yield wh
    wh.client.delete_dataset(wh.dataset, delete_contents=True, not_found_ok=True)


@pytest.fixture(scope="session")
def pubsub_project(base_settings):
    """The Pub/Sub emulator, reachable, for this session's project."""
    from abbanoa.stores import pubsub

    def check():
        list(
            pubsub.publisher(base_settings).list_topics(
                request={"project": f"projects/{base_settings.gcp_project}"}, timeout=5
            )
        )

    _require(f"Pub/Sub emulator ({base_settings.pubsub_emulator_host})", check)
    return base_settings.gcp_project


REPO_ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def subprocess_env(settings: Settings, **extra: str) -> dict[str, str]:
    """Environment for a child process (CLI, functions-framework, API, Streamlit) that
    uses this session's stores and imports this checkout's code."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "PYTHONPATH": str(REPO_ROOT),
        "ABBANOA_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "REDIS_KEY_PREFIX": settings.redis_key_prefix,
        "GCP_PROJECT": settings.gcp_project,
        "BQ_DATASET": settings.bq_dataset,
        "BIGQUERY_EMULATOR_HOST": settings.bigquery_emulator_host,
        "PUBSUB_EMULATOR_HOST": settings.pubsub_emulator_host,
        "JWT_SECRET": settings.jwt_secret or "",
    }
    env.update(extra)
    return env
