"""One settings object, read from the environment, with local defaults.

Every variable the platform reads is declared here (and documented in
docs/configuration.md); Terraform and the compose file set the same names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from abbanoa.errors import ConfigError

# name -> (default for local runs, description). The one list of settings.
ENV: dict[str, tuple[str | None, str]] = {
    "ABBANOA_ENV": ("local", "local | test | production; production refuses local defaults for secrets"),
    "DATABASE_URL": (
        "postgresql+pg8000://postgres@127.0.0.1:5432/abbanoa",
        "SQLAlchemy URL of the operational PostgreSQL database; libpq's sslmode (disable, prefer (default),"
        " require, verify-ca, verify-full) and sslrootcert=<server CA file> select TLS",
    ),
    "REDIS_URL": ("redis://127.0.0.1:6379/0", "Redis (Memorystore) URL; the cache, never the only copy"),
    "REDIS_KEY_PREFIX": ("", "prefix put before every Redis key (isolates test sessions)"),
    "GCP_PROJECT": ("abbanoa-local", "Google Cloud project id"),
    "BQ_DATASET": ("water_network", "BigQuery dataset holding the warehouse tables"),
    "BQ_LOCATION": ("EU", "BigQuery location"),
    "BIGQUERY_EMULATOR_HOST": (
        "http://127.0.0.1:9050",
        "BigQuery emulator endpoint; empty string means real BigQuery",
    ),
    "PUBSUB_EMULATOR_HOST": ("127.0.0.1:8085", "Pub/Sub emulator host:port; empty string means real Pub/Sub"),
    "DEFAULT_TENANT": ("abbanoa", "tenant that imported nodes and districts belong to unless told otherwise"),
    "TIMEZONE": ("Europe/Rome", "local time zone for days, night windows and reports"),
    "ALERT_TOPIC": ("alerts", "Pub/Sub topic that anomaly, quality and compliance alerts go to"),
    "ALERT_WEBHOOK_URLS": ("", "comma-separated webhook URLs the notifier posts alerts to"),
    "JWT_SECRET": (None, "HMAC key for API tokens; required in production (Secret Manager)"),
    "API_URL": ("http://127.0.0.1:8000", "base URL of the API, used by the dashboard"),
    "DASHBOARD_DATA_MODE": ("api", "api | hybrid | fallback: where the dashboard reads from"),
    "CORS_ORIGINS": ("", "comma-separated origins allowed to call the API from a browser"),
    "FORECAST_BACKEND": (
        "local",
        "local | bqml: statistical model here, BigQuery ML ARIMA_PLUS in production",
    ),
    "FORECAST_HISTORY_DAYS": ("365", "days of hourly history the local demand forecast learns from (at least 21)"),
    "ANOMALY_BACKEND": (
        "local",
        "local | bqml: statistical detectors here, ML.DETECT_ANOMALIES in production",
    ),
    "ANOMALY_SENSITIVITY": (
        "",
        "per-metric detector sensitivity, e.g. pressure=1.5,flow_rate=0.8,night_flow=2 (2 = thresholds halved)",
    ),
    "RETENTION_RAW_DAYS": ("400", "days of raw readings kept; older partitions are dropped"),
    "RETENTION_ROLLUP_DAYS": (
        "1825",
        "days of 5-minute/hourly/daily rollups kept (plain PostgreSQL; TimescaleDB: the policy in sql/0021)",
    ),
    "RETENTION_LOG_DAYS": ("90", "days of job runs and quarantine rows kept"),
    "PARTITIONS_AHEAD_DAYS": ("14", "daily readings partitions created ahead of the newest reading"),
    "LOG_LEVEL": ("INFO", "logging level"),
    "JOB_NAME": ("", "the job a deployed function runs (set per function by Terraform; empty locally)"),
    "EARLIEST_READING_TIME": (
        "2000-01-01T00:00:00Z",
        "readings stamped before this ISO 8601 time are quarantined (too_old): a meter clock reset, not history",
    ),
    "BIGQUERY_DEADLINE_S": ("60", "seconds any one BigQuery call may take, retries included, before it fails"),
    "FAULT_KILL_AT": ("", "fault suite only: comma-separated job stages where the process kills itself (kill -9)"),
    "TRUSTED_PROXY_HOPS": (
        "0",
        "proxies in front of the API whose X-Forwarded-For is trusted (0 = none: the socket's address counts)",
    ),
    "METRICS_TOKEN": (None, "bearer token Prometheus sends to the API's /metrics; unset = /metrics refused"),
}


def _env(name: str, environ: dict[str, str]) -> str | None:
    default = ENV[name][0]
    return environ.get(name, default)


@dataclass(frozen=True)
class Settings:
    env: str = "local"
    database_url: str = ENV["DATABASE_URL"][0]
    redis_url: str = ENV["REDIS_URL"][0]
    redis_key_prefix: str = ""
    gcp_project: str = "abbanoa-local"
    bq_dataset: str = "water_network"
    bq_location: str = "EU"
    bigquery_emulator_host: str = ENV["BIGQUERY_EMULATOR_HOST"][0]
    pubsub_emulator_host: str = ENV["PUBSUB_EMULATOR_HOST"][0]
    default_tenant: str = "abbanoa"
    timezone: str = "Europe/Rome"
    alert_topic: str = "alerts"
    alert_webhook_urls: tuple[str, ...] = ()
    jwt_secret: str | None = None
    api_url: str = "http://127.0.0.1:8000"
    dashboard_data_mode: str = "api"
    cors_origins: tuple[str, ...] = ()
    forecast_backend: str = "local"
    forecast_history_days: int = 365
    anomaly_backend: str = "local"
    anomaly_sensitivity: tuple[tuple[str, float], ...] = ()
    retention_raw_days: int = 400
    retention_rollup_days: int = 1825
    retention_log_days: int = 90
    partitions_ahead_days: int = 14
    log_level: str = "INFO"
    job_name: str = ""
    earliest_reading_time: str = "2000-01-01T00:00:00Z"
    bigquery_deadline_s: int = 60
    fault_kill_at: tuple[str, ...] = ()
    trusted_proxy_hops: int = 0
    metrics_token: str | None = None
    extra: dict = field(default_factory=dict, compare=False)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Read every setting from the environment; raise ConfigError naming a bad one."""
        environ = dict(os.environ if environ is None else environ)
        values = {name: _env(name, environ) for name in ENV}

        def integer(name: str) -> int:
            try:
                number = int(values[name])
            except (TypeError, ValueError):
                raise ConfigError(f"{name} must be an integer, got {values[name]!r}") from None
            if number < 0:
                raise ConfigError(f"{name} must not be negative, got {number}")
            return number

        def listing(name: str) -> tuple[str, ...]:
            return tuple(part.strip() for part in (values[name] or "").split(",") if part.strip())

        def choice(name: str, allowed: tuple[str, ...]) -> str:
            value = (values[name] or "").strip().lower()
            if value not in allowed:
                raise ConfigError(f"{name} must be one of {', '.join(allowed)}; got {values[name]!r}")
            return value

        def sensitivity(name: str) -> tuple[tuple[str, float], ...]:
            from abbanoa.metrics import METRICS

            known = (*METRICS, "night_flow")
            pairs = []
            for part in listing(name):
                metric, _, factor = part.partition("=")
                metric = metric.strip()
                if metric not in known:
                    raise ConfigError(f"{name}: unknown metric {metric!r}; known: {', '.join(known)}")
                try:
                    number = float(factor)
                except ValueError:
                    raise ConfigError(f"{name}: {part!r} must be metric=number") from None
                if not 0.05 <= number <= 20:
                    raise ConfigError(f"{name}: the factor for {metric} must be between 0.05 and 20, got {number}")
                pairs.append((metric, number))
            return tuple(pairs)

        settings = cls(
            env=choice("ABBANOA_ENV", ("local", "test", "production")),
            database_url=values["DATABASE_URL"],
            redis_url=values["REDIS_URL"],
            redis_key_prefix=values["REDIS_KEY_PREFIX"] or "",
            gcp_project=values["GCP_PROJECT"],
            bq_dataset=values["BQ_DATASET"],
            bq_location=values["BQ_LOCATION"],
            bigquery_emulator_host=values["BIGQUERY_EMULATOR_HOST"] or "",
            pubsub_emulator_host=values["PUBSUB_EMULATOR_HOST"] or "",
            default_tenant=values["DEFAULT_TENANT"],
            timezone=values["TIMEZONE"],
            alert_topic=values["ALERT_TOPIC"],
            alert_webhook_urls=listing("ALERT_WEBHOOK_URLS"),
            jwt_secret=values["JWT_SECRET"] or None,
            api_url=values["API_URL"].rstrip("/"),
            dashboard_data_mode=choice("DASHBOARD_DATA_MODE", ("api", "hybrid", "fallback")),
            cors_origins=listing("CORS_ORIGINS"),
            forecast_backend=choice("FORECAST_BACKEND", ("local", "bqml")),
            forecast_history_days=integer("FORECAST_HISTORY_DAYS"),
            anomaly_backend=choice("ANOMALY_BACKEND", ("local", "bqml")),
            anomaly_sensitivity=sensitivity("ANOMALY_SENSITIVITY"),
            retention_raw_days=integer("RETENTION_RAW_DAYS"),
            retention_rollup_days=integer("RETENTION_ROLLUP_DAYS"),
            retention_log_days=integer("RETENTION_LOG_DAYS"),
            partitions_ahead_days=integer("PARTITIONS_AHEAD_DAYS"),
            log_level=values["LOG_LEVEL"].upper(),
            job_name=values["JOB_NAME"] or "",
            earliest_reading_time=values["EARLIEST_READING_TIME"],
            bigquery_deadline_s=integer("BIGQUERY_DEADLINE_S"),
            fault_kill_at=listing("FAULT_KILL_AT"),
            trusted_proxy_hops=integer("TRUSTED_PROXY_HOPS"),
            metrics_token=values["METRICS_TOKEN"] or None,
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        """Check the shape of URLs and the production-only requirements."""
        scheme = urlsplit(self.database_url).scheme
        if not scheme.startswith("postgresql"):
            raise ConfigError(
                f"DATABASE_URL must be a postgresql:// URL (e.g. {ENV['DATABASE_URL'][0]}), got {self.database_url!r}"
            )
        if urlsplit(self.redis_url).scheme not in ("redis", "rediss", "unix"):
            raise ConfigError(f"REDIS_URL must be a redis:// or rediss:// URL, got {self.redis_url!r}")
        try:
            from zoneinfo import ZoneInfo

            ZoneInfo(self.timezone)
        except Exception:
            raise ConfigError(f"TIMEZONE {self.timezone!r} is not a known IANA time zone") from None
        if self.forecast_history_days < 21:
            raise ConfigError(f"FORECAST_HISTORY_DAYS must be at least 21 (3 weeks), got {self.forecast_history_days}")
        import datetime as dt

        try:
            earliest = dt.datetime.fromisoformat(self.earliest_reading_time.replace("Z", "+00:00"))
        except ValueError:
            earliest = None
        if earliest is None or earliest.tzinfo is None:
            raise ConfigError(
                "EARLIEST_READING_TIME must be an ISO 8601 time with Z or an offset, "
                f"got {self.earliest_reading_time!r}"
            )
        if self.bigquery_deadline_s < 1:
            raise ConfigError(f"BIGQUERY_DEADLINE_S must be at least 1 second, got {self.bigquery_deadline_s}")
        if self.env == "production":
            if self.fault_kill_at:
                raise ConfigError("FAULT_KILL_AT is for the fault suite and must be empty in production")
            refuse_weak_production_settings(self)

    def with_(self, **changes) -> Settings:
        """A copy with some settings changed (tests, per-request overrides)."""
        return replace(self, **changes)

    @property
    def earliest_reading(self):
        """EARLIEST_READING_TIME as an aware datetime (UTC)."""
        import datetime as dt

        return dt.datetime.fromisoformat(self.earliest_reading_time.replace("Z", "+00:00")).astimezone(dt.UTC)

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL with the pg8000 driver made explicit."""
        url = self.database_url
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+pg8000://" + url.split("://", 1)[1]
        return url


# Values of JWT_SECRET written in the repository (local/.env.example, tests, docs): never a
# production key. Any secret containing one of these marks is refused in production too.
PLACEHOLDER_SECRETS = ("change-me-to-32-or-more-random-characters",)
PLACEHOLDER_MARKS = ("change-me", "changeme", "placeholder", "example", "not-the-secret", "test-secret", "secret-")
MIN_SECRET_BITS = 256  # 32 bytes of entropy (RFC 7518 3.2: an HS256 key at least as long as the hash)
SECURE_SSLMODES = ("verify-ca", "verify-full")


def secret_bits(secret: str) -> float:
    """Entropy estimate of a key, in bits: its length times the bits per character of the
    smallest alphabet it is written in (hex 4, base64 6, other printable text 6.5); a key of
    fewer than 8 distinct characters counts log2(distinct) per character (repetition; a
    random hex key of 64 characters has 8 or more distinct ones but with odds below 1e-30)."""
    import math
    import string

    if not secret:
        return 0.0
    chars = set(secret)
    if chars <= set(string.hexdigits):
        per_char = 4.0
    elif chars <= set(string.ascii_letters + string.digits + "+/-_="):
        per_char = 6.0
    else:
        per_char = 6.5
    if len(chars) < 8:
        per_char = min(per_char, math.log2(max(2, len(chars))))
    return per_char * len(secret)


def refuse_weak_production_settings(settings: Settings) -> None:
    """ABBANOA_ENV=production: ConfigError naming the first weak setting (one line).

    Each component gets only the secrets it uses (terraform/: the JWT key goes to the API
    alone; the dashboard in api mode has no database or Redis URL), so what a component is
    given is checked, and what it is not given stays unset: JWT_SECRET is required where
    tokens are signed (`create_app` refuses to start without it), and a DATABASE_URL or
    REDIS_URL left at its local default means the component has none."""
    from urllib.parse import parse_qs

    secret = settings.jwt_secret or ""
    lowered = secret.lower()
    if secret and (secret in PLACEHOLDER_SECRETS or any(mark in lowered for mark in PLACEHOLDER_MARKS)):
        raise ConfigError("JWT_SECRET is a placeholder from the repository; set a random key in production")
    if secret and secret_bits(secret) < MIN_SECRET_BITS:
        raise ConfigError(
            f"JWT_SECRET has about {secret_bits(secret) / 8:.0f} bytes of entropy; production needs 32 or more"
            " (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
        )
    if settings.database_url != ENV["DATABASE_URL"][0]:
        db = urlsplit(settings.database_url)
        if not db.password:
            raise ConfigError("DATABASE_URL has no password; production connects with password authentication")
        sslmode = (parse_qs(db.query).get("sslmode") or ["prefer"])[-1]
        if sslmode not in SECURE_SSLMODES:
            raise ConfigError(f"DATABASE_URL sslmode={sslmode}; production needs sslmode=verify-ca or verify-full")
    if settings.redis_url != ENV["REDIS_URL"][0]:
        redis_url = urlsplit(settings.redis_url)
        if redis_url.scheme != "rediss" and not redis_url.password:
            raise ConfigError("REDIS_URL has neither AUTH (redis://:password@...) nor TLS (rediss://) in production")
    if settings.bigquery_emulator_host or settings.pubsub_emulator_host:
        raise ConfigError("BIGQUERY_EMULATOR_HOST / PUBSUB_EMULATOR_HOST must be empty in production")


_settings: Settings | None = None


def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    global _settings
    if _settings is None:
        _settings = Settings.from_env()
    return _settings


def reset_settings(settings: Settings | None = None) -> None:
    """Forget (or replace) the cached settings; tests call this after changing the environment."""
    global _settings
    _settings = settings


__all__ = ["ENV", "Settings", "get_settings", "reset_settings"]
