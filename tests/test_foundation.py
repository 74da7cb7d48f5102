"""The foundation: migrations, partitions, settings and a round trip through every store."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import uuid

import pytest
import sqlalchemy as sa

from abbanoa import migrations
from abbanoa.errors import ConfigError
from abbanoa.metrics import METRICS, to_canonical
from abbanoa.settings import Settings
from abbanoa.stores import postgres, pubsub

from .conftest import drop_database


@pytest.fixture
def empty_database(base_settings):
    """A second, empty database, dropped after the test."""
    url = sa.make_url(base_settings.sqlalchemy_url).set(database=f"abbanoa_empty_{uuid.uuid4().hex[:8]}")
    settings = base_settings.with_(database_url=url.render_as_string(hide_password=False))
    migrations.ensure_database(settings)
    yield settings
    postgres.dispose_engines()
    drop_database(settings)


def test_migrations_apply_to_an_empty_database_once_and_then_nothing(empty_database):
    first = migrations.apply_all(empty_database)
    assert first == [m.name for m in migrations.discover()]
    second = migrations.apply_all(empty_database)
    assert second == []
    with postgres.engine(empty_database).connect() as conn:
        recorded = conn.execute(sa.text("select count(*) from schema_migrations")).scalar()
        metrics = dict(conn.execute(sa.text("select metric, unit from metrics")).all())
    assert recorded == len(first)
    assert metrics == {m.name: m.unit for m in METRICS.values()}


def test_an_edited_applied_migration_is_refused(empty_database, tmp_path):
    (tmp_path / "0001_one.sql").write_text("CREATE TABLE t1 (x int);")
    migrations.apply_all(empty_database, sql_dir=tmp_path)
    (tmp_path / "0001_one.sql").write_text("CREATE TABLE t1 (x bigint);")
    with pytest.raises(Exception, match="changed after it was applied"):
        migrations.apply_all(empty_database, sql_dir=tmp_path)


def test_partitions_exist_ahead_of_the_newest_reading(db, settings):
    newest = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with db.begin() as conn:
        conn.execute(sa.text("select ensure_readings_partitions(:a, :b)"), {"a": newest, "b": newest})
        conn.execute(
            sa.text("insert into readings (node_id, metric, ts, value) values ('n1', 'pressure', :ts, 3.2)"),
            {"ts": newest},
        )
        ahead = conn.execute(
            sa.text("select max(ends_at) from readings_partitions"),
        ).scalar()
        where = conn.execute(sa.text("select tableoid::regclass::text from readings where node_id = 'n1'")).scalar()
    assert ahead >= newest + dt.timedelta(days=settings.partitions_ahead_days - 1)
    assert where == "readings_p" + newest.strftime("%Y%m%d")


def test_a_reading_outside_every_partition_is_refused_not_lost_silently(db):
    with pytest.raises(sa.exc.DatabaseError, match="no partition"), db.begin() as conn:
        conn.execute(
            sa.text("insert into readings (node_id, metric, ts, value) values ('n1', 'ph', :ts, 7)"),
            {"ts": dt.datetime(1990, 1, 1, tzinfo=dt.UTC)},
        )


def test_postgres_round_trip_with_copy(db):
    ts = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with db.begin() as conn:
        sent = postgres.copy_rows(
            conn, "readings", ["node_id", "metric", "ts", "value"], [("n2", "flow_rate", ts, 12.5)]
        )
        back = conn.execute(sa.text("select value, ts from readings where node_id = 'n2'")).one()
    assert sent == 1
    assert back == (12.5, ts)


def test_redis_round_trip_has_a_ttl(cache):
    key = cache.key(cache_module_pattern(), node_id="n3")
    assert cache.set_json(key, {"pressure": 3.1}, ttl_s=60)
    assert cache.get_json(key) == {"pressure": 3.1}
    assert 0 < cache._redis.ttl(key) <= 60


def cache_module_pattern() -> str:
    from abbanoa.stores.cache import NODE_LATEST

    return NODE_LATEST


def test_redis_down_degrades_to_a_miss(settings):
    from abbanoa.stores.cache import Cache, reset_clients

    reset_clients()
    dead = Cache(settings.with_(redis_url="redis://127.0.0.1:1/0"))
    assert dead.get_json("x") is None
    assert dead.set_json("x", 1) is False
    assert dead.available() is False
    reset_clients()


def test_pubsub_round_trip_on_the_emulator(pubsub_project, settings):
    topic = f"roundtrip-{uuid.uuid4().hex[:6]}"
    pubsub.ensure_topic(topic, settings)
    sub = pubsub.subscriber(settings)
    sub_path = sub.subscription_path(settings.gcp_project, topic + "-sub")
    sub.create_subscription(request={"name": sub_path, "topic": pubsub.topic_path(topic, settings)})
    message_id = pubsub.publish_json(topic, {"hello": "sardinia"}, {"tenant": "t1"}, settings)
    response = sub.pull(request={"subscription": sub_path, "max_messages": 1}, timeout=10)
    received = response.received_messages[0].message
    assert received.message_id == message_id
    assert received.data == b'{"hello": "sardinia"}'
    assert received.attributes["tenant"] == "t1"
    sub.close()


def test_bigquery_round_trip_on_the_emulator(warehouse):
    ts = dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.UTC)
    loaded = warehouse.load_rows(
        "readings",
        [
            {
                "ts": ts,
                "node_id": "rt-node",
                "metric": "pressure",
                "value": 4.25,
                "unit": "bar",
                "ingested_at": ts,
                "source": "test",
            }
        ],
    )
    rows = warehouse.query_rows(
        "SELECT value, DATE(ts, 'Europe/Rome') AS local_day FROM `{dataset}.readings` WHERE node_id = @n",
        [__import__("abbanoa.stores.bigquery", fromlist=["param"]).param("n", "STRING", "rt-node")],
    )
    assert loaded == 1
    assert rows == [{"value": 4.25, "local_day": dt.date(2026, 3, 29)}]
    table = warehouse.client.get_table(warehouse.table_id("readings"))
    assert table.time_partitioning.field == "ts"
    assert table.clustering_fields == ["node_id", "metric"]


def test_settings_name_the_bad_variable():
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        Settings.from_env({"DATABASE_URL": "mysql://x"})
    with pytest.raises(ConfigError, match="RETENTION_RAW_DAYS"):
        Settings.from_env({"RETENTION_RAW_DAYS": "ten"})
    with pytest.raises(ConfigError, match="JWT_SECRET"):
        Settings.from_env(
            {
                "ABBANOA_ENV": "production",
                "JWT_SECRET": "too-short",
                "BIGQUERY_EMULATOR_HOST": "",
                "PUBSUB_EMULATOR_HOST": "",
            }
        )
    with pytest.raises(ConfigError, match="ANOMALY_SENSITIVITY: unknown metric 'presure'"):
        Settings.from_env({"ANOMALY_SENSITIVITY": "presure=2"})
    with pytest.raises(ConfigError, match="ANOMALY_SENSITIVITY: the factor for pressure must be between"):
        Settings.from_env({"ANOMALY_SENSITIVITY": "pressure=0"})
    with pytest.raises(ConfigError, match="must be metric=number"):
        Settings.from_env({"ANOMALY_SENSITIVITY": "pressure"})


def test_unit_conversions_to_canonical():
    assert to_canonical("flow_rate", 36.0, "m3/h") == pytest.approx(10.0)
    assert to_canonical("pressure", 250.0, "kPa") == pytest.approx(2.5)
    assert to_canonical("pressure", 10.0, "m") == pytest.approx(0.980665)
    with pytest.raises(KeyError):
        to_canonical("pressure", 1.0, "furlongs")


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "abbanoa", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_migrate_cli_prints_what_it_applied_then_nothing(empty_database):
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": empty_database.database_url}
    first = _cli("migrate", env=env)
    second = _cli("migrate", env=env)
    assert first.returncode == 0, first.stderr
    assert "applied 0001_core.sql" in first.stdout
    assert second.returncode == 0
    assert "nothing to apply" in second.stdout


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://postgres@127.0.0.1:1/abbanoa",
            "PostgreSQL at postgresql+pg8000://postgres@127.0.0.1:1",
        ),
        ("postgresql://postgres@no-such-host.invalid/abbanoa", "unreachable"),
        ("mysql://root@127.0.0.1/abbanoa", "DATABASE_URL must be a postgresql:// URL"),
    ],
)
def test_bad_database_configuration_is_one_clear_line(url, expected):
    result = _cli("migrate", env={"PATH": "/usr/bin:/bin", "DATABASE_URL": url})
    assert result.returncode == 1
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_every_setting_is_documented():
    from pathlib import Path

    from abbanoa.settings import ENV

    text = (Path(__file__).resolve().parents[1] / "docs" / "configuration.md").read_text()
    missing = [name for name in ENV if f"`{name}`" not in text]
    assert missing == []
