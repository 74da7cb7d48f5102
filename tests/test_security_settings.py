"""Issue 18.9: with ABBANOA_ENV=production the process refuses weak settings, naming the variable."""

from __future__ import annotations

import re
import secrets

import pytest

from abbanoa.errors import ConfigError
from abbanoa.settings import PLACEHOLDER_SECRETS, Settings, secret_bits
from tests.conftest import REPO_ROOT

STRONG = {
    "ABBANOA_ENV": "production",
    "JWT_SECRET": secrets.token_urlsafe(48),
    "DATABASE_URL": "postgresql+pg8000://app:s3cret@10.0.0.3:5432/abbanoa?sslmode=verify-ca&sslrootcert=/ca.pem",
    "REDIS_URL": "rediss://:auth-string@10.0.0.4:6378/0",
    "BIGQUERY_EMULATOR_HOST": "",
    "PUBSUB_EMULATOR_HOST": "",
}


def test_a_component_without_a_secret_it_does_not_use_starts_and_the_api_does_not():
    # a job gets no JWT key; the dashboard in api mode gets no database or Redis URL
    job = {k: v for k, v in STRONG.items() if k != "JWT_SECRET"}
    assert Settings.from_env(job).jwt_secret is None
    dashboard = {k: v for k, v in job.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    assert Settings.from_env(dashboard).env == "production"
    from api import create_app

    with pytest.raises(ConfigError, match="JWT_SECRET must be set in production"):
        create_app(Settings.from_env(job))


def test_strong_production_settings_are_accepted():
    settings = Settings.from_env(STRONG)
    assert settings.env == "production" and settings.trusted_proxy_hops == 0 and settings.metrics_token is None
    assert Settings.from_env({**STRONG, "REDIS_URL": "redis://:auth-string@10.0.0.4:6379/0"})  # AUTH, no TLS
    assert Settings.from_env({**STRONG, "JWT_SECRET": secrets.token_hex(32)})  # 64 hex = 32 bytes
    # a real 32-byte hex key that happens to miss two of the 16 digits is still 256 bits
    assert Settings.from_env(
        {**STRONG, "JWT_SECRET": "8b2a5cc808ab475c1fd2c670bd2a25a04b2b2eca584a8264422287fadd2801a7"}
    )


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("JWT_SECRET", "change-me-to-32-or-more-random-characters", "placeholder"),
        ("JWT_SECRET", "prod-CHANGEME-Qx7vJm2kR9tLp4sWz8nBc3yHd6fGa1eUo5iKq0rTjXlM", "placeholder"),
        ("JWT_SECRET", "9f3c2a7e5b1d4f60a8c2e7b9d1f3a5c7", "entropy"),  # 32 hex characters: 16 bytes
        ("JWT_SECRET", "ab" * 40, "entropy"),  # long, but two characters repeated
        ("DATABASE_URL", "postgresql+pg8000://app@10.0.0.3:5432/abbanoa?sslmode=verify-ca", "no password"),
        ("DATABASE_URL", "postgresql+pg8000://app:pw@10.0.0.3:5432/abbanoa", "sslmode=prefer"),
        ("DATABASE_URL", "postgresql+pg8000://app:pw@10.0.0.3:5432/abbanoa?sslmode=require", "sslmode=require"),
        ("REDIS_URL", "redis://10.0.0.4:6379/0", "neither AUTH"),
        ("PUBSUB_EMULATOR_HOST", "127.0.0.1:8085", "must be empty"),
    ],
)
def test_each_weak_production_setting_is_refused_in_one_line_naming_it(variable, value, says):
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({**STRONG, variable: value})
    message = str(refused.value)
    assert variable in message.split(" must")[0] and says in message and "\n" not in message
    Settings.from_env({**STRONG, variable: value, "ABBANOA_ENV": "local"})  # the same value is fine locally


def test_every_jwt_secret_written_in_the_repository_is_refused_in_production():
    pattern = re.compile(r"JWT_SECRET\s*[=:]\s*['\"]?([^\s'\"$]{8,})")
    found = set()
    for path in REPO_ROOT.glob("**/*"):
        if not path.is_file() or any(part.startswith(".") and part not in (".env.example",) for part in path.parts):
            continue
        if path.suffix not in ("", ".example", ".yml", ".yaml", ".md", ".sh", ".tf", ".env", ".toml"):
            continue
        found.update(pattern.findall(path.read_text(errors="ignore")))
    assert "change-me-to-32-or-more-random-characters" in found and set(PLACEHOLDER_SECRETS) <= found
    for value in found:
        with pytest.raises(ConfigError, match="JWT_SECRET"):
            Settings.from_env({**STRONG, "JWT_SECRET": value})


def test_entropy_estimate_counts_the_alphabet_and_repetition():
    assert secret_bits(secrets.token_hex(32)) == 256
    assert secret_bits("a" * 100) == 100  # two-symbol floor: log2(2) per character
    assert secret_bits(secrets.token_urlsafe(32)) >= 256
