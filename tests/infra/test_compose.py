"""local/docker-compose.yml and its monitoring configuration, proved statically (no Docker
engine here): the compose specification's JSON schema, the settings every application
container gets, the services the code and configuration address, and the Dockerfiles."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import yaml

from abbanoa.settings import ENV, Settings

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / "local"
COMPOSE = LOCAL / "docker-compose.yml"
APP_DOCKERFILE = "Dockerfile"  # one multi-stage file: targets api, dashboard, functions
DOCKERFILES = [APP_DOCKERFILE, "local/bqemulator/Dockerfile"]


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def example_env() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in (LOCAL / ".env.example").read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs if not key.startswith("#")}


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${NAME}, ${NAME:-default}, ${NAME:?error} and $$, with env as the .env file."""

    def one(match: re.Match) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if op == ":?":
            assert env.get(name), f"compose would stop: {arg}"
            return env[name]
        if op == ":-":
            return env.get(name) or arg
        return env.get(name, "")

    return re.sub(r"\$\{(\w+)(?:(:[?-])([^}]*))?\}", one, value.replace("$$", "\0")).replace("\0", "$")


def app_services(doc: dict) -> dict[str, dict]:
    return {
        name: service
        for name, service in doc["services"].items()
        if service.get("build", {}).get("dockerfile") == APP_DOCKERFILE
    }


def test_compose_file_is_valid_against_the_compose_specification():
    schema = json.loads((LOCAL / "compose-spec.json").read_text())
    assert schema["title"] == "Compose Specification"
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(compose()), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]
    # and the validator does catch a mistake
    broken = compose()
    broken["services"]["api"]["restart"] = ["always"]
    broken["services"]["redis"]["healthcheck"]["interval"] = 10
    assert len(list(validator.iter_errors(broken))) == 2


def test_every_application_container_gets_every_setting_with_values_settings_accept():
    doc = compose()
    services = app_services(doc)
    assert {"migrate", "functions", "functions-http", "notifier", "scheduler", "api", "dashboard"} <= set(services)
    env_file = example_env()
    for name, service in services.items():
        environment = service["environment"]
        missing = set(ENV) - set(environment)
        assert not missing, f"{name} misses {sorted(missing)}"
        values = {key: interpolate(str(value), env_file) for key, value in environment.items()}
        settings = Settings.from_env(values)  # raises ConfigError on a bad value
        assert settings.database_url.startswith("postgresql+pg8000://postgres:")
        assert settings.redis_url == f"redis://:{env_file['REDIS_PASSWORD']}@redis:6379/0"


def test_the_services_the_code_and_the_configuration_address_exist():
    doc = compose()
    services = doc["services"]
    expected = {
        "timescaledb",
        "redis",
        "pubsub",
        "bigquery",
        "functions",
        "notifier",
        "scheduler",
        "api",
        "dashboard",
        "nginx",
        "prometheus",
        "grafana",
    }
    assert expected <= set(services)
    env = services["api"]["environment"]
    for variable in ("DATABASE_URL", "REDIS_URL", "BIGQUERY_EMULATOR_HOST", "API_URL"):
        host = urlsplit(interpolate(env[variable], example_env())).hostname
        assert host in services, f"{variable} points at {host!r}, not a compose service"
    assert env["PUBSUB_EMULATOR_HOST"].split(":")[0] in services
    assert re.fullmatch(r"timescale/timescaledb:[\d.]+-pg16", services["timescaledb"]["image"])
    redis_command = " ".join(services["redis"]["command"])
    assert "--appendonly yes" in redis_command and "--requirepass" in redis_command
    # the local scheduler pushes into the functions-framework servers it names
    command = services["scheduler"]["command"]
    assert command[:4] == ["python", "-m", "abbanoa", "scheduler"]
    targets = {"--functions-url": "job_pubsub", "--notifier-url": "notify_alert"}
    for flag, target in targets.items():
        host = urlsplit(command[command.index(flag) + 1]).hostname
        assert services[host]["environment"]["FUNCTION_TARGET"] == target
    main = (ROOT / "functions" / "main.py").read_text()
    for entry_point in ("job_pubsub", "job_http", "notify_alert"):
        assert f"def {entry_point}(" in main
    # Prometheus, nginx and Grafana name services that exist, on a network they share
    prometheus = yaml.safe_load((LOCAL / "prometheus" / "prometheus.yml").read_text())
    scraped = {
        t.split(":")[0] for job in prometheus["scrape_configs"] for c in job["static_configs"] for t in c["targets"]
    }
    # only what serves /metrics is scraped (functions-framework serves none: TargetDown forever)
    assert scraped == {"api", "localhost"}
    for host in scraped - {"localhost"}:
        assert host in services and set(services[host]["networks"]) & set(services["prometheus"]["networks"])
    api_job = next(job for job in prometheus["scrape_configs"] if job["job_name"] == "api")
    token_file = api_job["authorization"]["credentials_file"]
    mounted = {f"/run/secrets/{s.get('target', s['source'])}": s["source"] for s in services["prometheus"]["secrets"]}
    assert token_file in mounted and doc["secrets"][mounted[token_file]] == {"environment": "METRICS_TOKEN"}
    assert services["api"]["environment"]["METRICS_TOKEN"].startswith("${METRICS_TOKEN:?")
    nginx = (LOCAL / "nginx" / "nginx.conf").read_text()
    upstreams = set(re.findall(r"server (\w[\w-]*):\d+;", nginx))
    assert upstreams == {"api", "dashboard", "grafana"}
    for host in upstreams:
        assert set(services[host]["networks"]) & set(services["nginx"]["networks"])
    datasource = yaml.safe_load((LOCAL / "grafana/provisioning/datasources/prometheus.yml").read_text())
    assert urlsplit(datasource["datasources"][0]["url"]).hostname == "prometheus"


def test_only_nginx_is_published_and_it_serves_tls_with_security_headers():
    services = compose()["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"nginx"}
    nginx = (LOCAL / "nginx" / "nginx.conf").read_text()
    assert "listen 8443 ssl;" in nginx and "ssl_protocols TLSv1.2 TLSv1.3;" in nginx
    headers = (LOCAL / "nginx" / "security-headers.conf").read_text()
    for header in ("Strict-Transport-Security", "X-Content-Type-Options", "Content-Security-Policy", "X-Frame-Options"):
        assert header in headers
    # every location that answers includes them (add_header is not inherited)
    locations = re.findall(r"location [^{]+\{([^}]*)\}", nginx)
    answering = [body for body in locations if "proxy_pass" in body or "return 200" in body]
    assert answering and all("security-headers.conf" in body for body in answering)
    script = (LOCAL / "nginx" / "generate-cert.sh").read_text()
    assert "openssl req -x509" in script
    assert any("/docker-entrypoint.d/" in volume for volume in services["nginx"]["volumes"])


def test_every_service_has_a_health_check_a_restart_policy_and_named_volumes_for_state():
    doc = compose()
    for name, service in doc["services"].items():
        assert service.get("restart") in ("unless-stopped", "always", "on-failure"), f"{name} has no restart policy"
        check = service.get("healthcheck")
        dockerfile = service.get("build", {}).get("dockerfile")
        if check and check.get("disable"):
            assert service["restart"] == "on-failure", f"{name}: only one-shot services go without a health check"
            continue
        has_image_check = bool(dockerfile) and "HEALTHCHECK" in (ROOT / dockerfile).read_text()
        assert (check and check.get("test")) or has_image_check, f"{name} has no health check"
    for name in ("timescaledb", "redis", "bigquery", "prometheus", "grafana"):
        mounts = [v.split(":")[0] for v in doc["services"][name]["volumes"]]
        assert any(m in doc["volumes"] for m in mounts), f"{name} keeps its state in no named volume"


def test_grafana_is_provisioned_with_the_datasource_a_dashboard_and_alert_rules():
    provisioning = LOCAL / "grafana" / "provisioning"
    datasource = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())["datasources"][0]
    dashboard = json.loads((LOCAL / "grafana" / "dashboards" / "abbanoa-platform.json").read_text())
    assert dashboard["panels"]
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == datasource["uid"] and panel["targets"][0]["expr"]
    rules = yaml.safe_load((provisioning / "alerting" / "rules.yml").read_text())["groups"][0]["rules"]
    assert rules and all(r["data"][0]["datasourceUid"] == datasource["uid"] for r in rules)
    prometheus_rules = yaml.safe_load((LOCAL / "prometheus" / "alerts.yml").read_text())
    assert prometheus_rules["groups"][0]["rules"]


def test_dockerfiles_run_as_a_non_root_user_from_a_pinned_base_with_a_health_check():
    for relative in DOCKERFILES:
        text = (ROOT / relative).read_text()
        bases = re.findall(r"^FROM\s+(\S+)", text, re.M)
        stages = set(re.findall(r"^FROM\s+\S+\s+AS\s+(\w+)", text, re.M))
        assert bases, relative
        for base in (b for b in bases if b not in stages):
            assert "@sha256:" in base or re.search(r":\d+\.\d+\.\d+", base), f"{relative}: unpinned base {base}"
        users = re.findall(r"^USER\s+(\S+)", text, re.M)
        assert users and users[-1] not in ("root", "0"), f"{relative} runs as root"
        assert re.search(r"^HEALTHCHECK ", text, re.M), f"{relative} has no HEALTHCHECK"
        for source in re.findall(r"^COPY\s+(?:--\S+\s+)*(\S+)\s", text, re.M):
            assert (ROOT / source).exists(), f"{relative} copies missing {source}"


def test_the_notifier_reaches_the_outside_and_nothing_else_has_egress():
    doc = compose()
    networks = doc["networks"]
    outside = {name for name, net in networks.items() if not (net or {}).get("internal")}
    for name, service in app_services(doc).items():
        reach = set(service["networks"]) & outside
        if name == "notifier":
            assert reach, "the notifier posts webhooks: it needs a network that is not internal"
        elif name not in ("api", "dashboard"):
            assert not reach, f"{name} needs no way out"
    assert networks["backend"]["internal"] is True


def test_the_public_services_trust_exactly_the_one_proxy_in_front():
    services = compose()["services"]
    assert services["api"]["environment"]["TRUSTED_PROXY_HOPS"] == "1"
    assert services["dashboard"]["environment"]["TRUSTED_PROXY_HOPS"] == "1"
    for name in ("functions", "notifier", "scheduler", "migrate"):
        assert services[name]["environment"]["TRUSTED_PROXY_HOPS"] == "0", name
    nginx = (LOCAL / "nginx" / "nginx.conf").read_text()
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in nginx


def test_the_dashboard_cannot_be_framed_and_its_cookies_are_secure_over_tls():
    headers = (LOCAL / "nginx" / "security-headers.conf").read_text()
    assert 'add_header X-Frame-Options "DENY" always;' in headers
    csp = re.search(r'Content-Security-Policy "([^"]+)"', headers).group(1)
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
    assert directives["frame-ancestors"] == "'none'"
    nginx = (LOCAL / "nginx" / "nginx.conf").read_text()
    assert re.search(r"proxy_cookie_flags ~ secure", nginx)
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["enableXsrfProtection"] is True
    assert config["browser"]["gatherUsageStats"] is False


def test_one_dockerfile_builds_every_application_image_from_one_base():
    text = (ROOT / APP_DOCKERFILE).read_text()
    targets = {name: base for base, name in re.findall(r"^FROM\s+(\S+)\s+AS\s+(\w+)", text, re.M)}
    assert set(targets) == {"base", "api", "dashboard", "functions"}
    assert all(targets[t] == "base" for t in ("api", "dashboard", "functions"))
    # the runtime requirements only, once, in the base
    assert text.count("pip install") == 1 and "-r requirements.txt -c constraints.txt" in text
    assert "requirements-dev" not in text
    used = {service["build"]["target"] for service in app_services(compose()).values()}
    assert used == {"api", "dashboard", "functions"}
    for old in ("api/Dockerfile", "dashboard/Dockerfile", "functions/Dockerfile"):
        assert not (ROOT / old).exists(), f"{old}: the root Dockerfile replaces it"


def test_every_file_the_compose_file_points_to_exists():
    text = COMPOSE.read_text()
    for path in re.findall(r"\b((?:local|docs)/[\w./-]+\.(?:md|example|yml|conf|sh))\b", text):
        assert (ROOT / path).exists(), f"docker-compose.yml points to {path}, which does not exist"
    for service in compose()["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (LOCAL / source).exists(), source
