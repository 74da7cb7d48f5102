"""terraform/ proved statically (no Google provider here): formatting, parsing, module
conventions, and consistency with the files the code reads (schedule manifest, settings,
warehouse tables)."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess

import pytest
import yaml

from abbanoa.jobs import schedule
from abbanoa.settings import ENV
from abbanoa.stores import bigquery as bq
from tests.infra.tfparse import (
    MODULES,
    TERRAFORM,
    file_reference,
    locals_of,
    module_calls,
    module_dir,
    named,
    parse,
    resolve_each,
    resources,
    tf_files,
)

MODULE_NAMES = {
    "network",
    "database",
    "redis",
    "bigquery",
    "pubsub",
    "scheduled_function",
    "cloud_run_service",
    "monitoring",
    "secrets",
    "artifact_registry",
    "iam",
}


def test_terraform_fmt_check_passes_on_every_file():
    terraform = shutil.which("terraform")
    assert terraform, "the terraform CLI is not on PATH (tests/infra runs `terraform fmt -check`)"
    result = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-no-color", str(TERRAFORM)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"terraform fmt would change: {result.stdout}{result.stderr}"


def test_every_tf_file_parses_and_declares_something():
    files = tf_files()
    assert len(files) >= 4 * len(MODULE_NAMES) + 4
    for path in files:
        parsed = parse(path)
        assert {k for k in parsed if not k.startswith("__")}, f"{path} declares nothing"


def test_every_module_has_typed_described_variables_outputs_and_a_pinned_google_provider():
    assert {p.name for p in MODULES.iterdir() if p.is_dir()} == MODULE_NAMES
    for directory in [TERRAFORM, *sorted(p for p in MODULES.iterdir() if p.is_dir())]:
        for required in ("main.tf", "variables.tf", "outputs.tf", "versions.tf"):
            assert (directory / required).is_file(), f"{directory.name}/{required} is missing"
        blocks = module_dir(directory)
        for block in blocks.get("variable", []):
            for name, body in block.items():
                assert "type" in body, f"{directory.name}: variable {name} has no type"
                assert len(body.get("description", "")) > 5, f"{directory.name}: variable {name} undescribed"
        for block in blocks.get("output", []):
            for name, body in block.items():
                assert len(body.get("description", "")) > 5, f"{directory.name}: output {name} undescribed"
        providers = parse(directory / "versions.tf")["terraform"][0]["required_providers"][0]
        google = providers["google"]
        assert google["source"] == "hashicorp/google"
        assert re.fullmatch(r"(~> )?\d+\.\d+(\.\d+)?", google["version"]), google["version"]
    root_google = parse(TERRAFORM / "versions.tf")["terraform"][0]["required_providers"][0]["google"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", root_google["version"]), "the root module pins an exact version"


def test_state_lives_in_a_gcs_backend_configured_per_environment():
    backend = parse(TERRAFORM / "versions.tf")["terraform"][0]["backend"][0]
    assert "gcs" in backend
    for env in ("dev", "prod"):
        config = (TERRAFORM / "environments" / f"{env}.backend.hcl").read_text()
        assert re.search(r'^bucket\s*=\s*"[\w-]+"', config, re.M) and f"/{env}" in config
        tfvars = {
            k: v for k, v in parse(TERRAFORM / "environments" / f"{env}.tfvars").items() if not k.startswith("__")
        }
        declared = {name for block in module_dir(TERRAFORM)["variable"] for name in block}
        assert set(tfvars) <= declared, f"{env}.tfvars sets undeclared variables"
        required = {
            name for block in module_dir(TERRAFORM)["variable"] for name, body in block.items() if "default" not in body
        }
        assert required <= set(tfvars), f"{env}.tfvars misses {required - set(tfvars)}"
    prod = parse(TERRAFORM / "environments" / "prod.tfvars")
    assert prod["db_high_availability"] is True and prod["redis_tier"] == "STANDARD_HA"
    assert prod["deletion_protection"] is True and prod["api_min_instances"] >= 1


# ---------------------------------------------------------------- schedule manifest


def _root_reads_manifest() -> dict:
    """The manifest as Terraform reads it: the file its yamldecode(file(...)) names."""
    root_locals = locals_of(TERRAFORM)
    path = file_reference(root_locals["manifest"], TERRAFORM, root_locals)
    assert path == schedule.MANIFEST.resolve(), f"terraform reads {path}, the code {schedule.MANIFEST}"
    assert root_locals["jobs"] == "${local.manifest.jobs}"
    return yaml.safe_load(path.read_text())


def expand(manifest: dict) -> dict:
    """What `terraform plan` would create for a manifest: per job its function arguments, its
    scheduler job (or none) and the topics. Derived only from the parsed HCL + manifest."""
    calls = module_calls()
    job_call = calls["job"]
    assert job_call["source"] == "./modules/scheduled_function"
    assert job_call["for_each"] == "${local.jobs}", "the job functions must iterate the manifest"
    inner = resources(MODULES / "scheduled_function")
    scheduler = inner[("google_cloud_scheduler_job", "job")]
    assert scheduler["count"] == "${var.job_schedule == null ? 0 : 1}"

    functions, schedulers = {}, {}
    for name, spec in manifest["jobs"].items():
        args = {key: resolve_each(value, name, spec) for key, value in job_call.items()}
        functions[name] = args
        if args["job_schedule"] is not None:
            schedulers[name] = {"schedule": args["job_schedule"], "time_zone": manifest["time_zone"]}

    alert_default = named(module_dir(TERRAFORM)["variable"], "alert_topic")["default"]
    topics_expr = calls["pubsub"]["topics"]
    assert topics_expr == "${toset(concat([for job in local.jobs : job.topic], [var.alert_topic]))}"
    topics = {spec["topic"] for spec in manifest["jobs"].values()} | {alert_default}
    return {"functions": functions, "schedulers": schedulers, "topics": topics, "alert_topic": alert_default}


def test_every_manifest_job_has_a_function_a_topic_and_a_scheduler_job_and_vice_versa():
    manifest = _root_reads_manifest()
    plan = expand(manifest)
    jobs = schedule.jobs()

    assert set(plan["functions"]) == set(jobs)
    assert set(plan["schedulers"]) == {name for name, spec in jobs.items() if spec.cron}
    assert plan["topics"] == {spec.topic for spec in jobs.values()} | {plan["alert_topic"]}
    for name, spec in jobs.items():
        args = plan["functions"][name]
        assert args["job_name"] == name
        assert args["topic_name"] == spec.topic
        assert args["topic_id"] == "${module.pubsub.topic_ids[each.value.topic]}"
        assert args["job_schedule"] == spec.cron
        assert args["function_timeout_s"] == spec.timeout_s
        assert args["function_available_memory_mb"] == spec.memory_mb
        assert (args["max_attempts"], args["min_backoff_s"], args["max_backoff_s"]) == (
            spec.max_attempts,
            spec.min_backoff_s,
            spec.max_backoff_s,
        )
        assert args["time_zone"] == "${local.manifest.time_zone}"
        assert args["function_entry_point"] == "job_pubsub"
    assert manifest["time_zone"] == "Europe/Rome"

    # vice versa: nothing else in Terraform makes functions, scheduler jobs or topics
    makers = {
        "google_cloudfunctions2_function": {"scheduled_function"},
        "google_cloud_scheduler_job": {"scheduled_function"},
        "google_pubsub_topic": {"pubsub"},
    }
    for directory in [TERRAFORM, *MODULES.iterdir()]:
        for rtype, _ in resources(directory):
            if rtype in makers:
                assert directory.name in makers[rtype], f"{rtype} declared in {directory.name}"
    users = {name for name, call in module_calls().items() if call["source"] == "./modules/scheduled_function"}
    assert users == {"job", "notifier"}
    notifier = module_calls()["notifier"]
    assert notifier["job_schedule"] is None and notifier["topic_name"] == "${var.alert_topic}"
    assert notifier["function_entry_point"] == "notify_alert"


def test_a_job_added_to_the_manifest_is_deployed_without_editing_terraform():
    manifest = copy.deepcopy(_root_reads_manifest())
    manifest["jobs"]["leak_report"] = {
        "description": "weekly leak report",
        "cron": "0 7 * * 1",
        "run": "abbanoa.jobs.leak_report:run",
        "topic": "job-leak-report",
        "timeout_s": 300,
    }
    plan = expand(manifest)
    assert plan["functions"]["leak_report"]["topic_name"] == "job-leak-report"
    assert plan["functions"]["leak_report"]["function_available_memory_mb"] == 512  # schedule.py's default
    assert plan["functions"]["leak_report"]["max_attempts"] == 5
    assert plan["schedulers"]["leak_report"]["schedule"] == "0 7 * * 1"
    assert "job-leak-report" in plan["topics"]


def test_no_job_name_or_topic_is_hard_coded_in_terraform():
    jobs = schedule.jobs()
    literals = {spec.topic for spec in jobs.values()} | set(jobs) | {n.replace("_", "-") for n in jobs}
    freshness = named(module_dir(TERRAFORM)["variable"], "freshness_job")
    assert freshness["default"] in jobs, "the stale-data alert must watch a manifest job"
    for path in tf_files():
        text = path.read_text()
        if path == TERRAFORM / "variables.tf":
            text = text.replace(f'default     = "{freshness["default"]}"', "")
        for literal in literals:
            assert not re.search(rf'"[^"\n]*\b{re.escape(literal)}\b[^"\n]*"', text), f"{literal!r} written in {path}"


def test_function_module_wires_trigger_retry_dead_letter_and_scheduler_from_its_arguments():
    inner = resources(MODULES / "scheduled_function")
    function = inner[("google_cloudfunctions2_function", "function")]
    trigger = function["dynamic"][0]["event_trigger"]
    assert trigger["content"][0]["pubsub_topic"] == "${event_trigger.value}"
    assert trigger["for_each"] == "${local.event_driven ? [var.topic_id] : []}"
    assert trigger["content"][0]["retry_policy"] == "RETRY_POLICY_RETRY"
    source = function["build_config"][0]["source"][0]["storage_source"][0]
    assert source == {"bucket": "${var.source_bucket}", "object": "${var.source_object}"}
    service = function["service_config"][0]
    assert service["vpc_connector"] == "${var.vpc_connector}"
    assert service["service_account_email"] == "${var.service_account_email}"
    scheduler = inner[("google_cloud_scheduler_job", "job")]
    assert scheduler["time_zone"] == "${var.time_zone}" and scheduler["schedule"] == "${var.job_schedule}"
    pubsub_target = named(scheduler["dynamic"], "pubsub_target")
    assert pubsub_target["content"][0]["topic_name"] == "${pubsub_target.value}"
    assert "var.topic_id" in pubsub_target["for_each"]
    dead_letter = inner[("terraform_data", "dead_letter_policy")]
    env = dead_letter["provisioner"][0]["local-exec"]["environment"]
    assert env["DEAD_LETTER"] == "${var.dead_letter_topic_id}"
    assert env["ATTEMPTS"] == "${max(5, var.max_attempts)}"
    # the local scheduler names dead-letter topics the same way
    from abbanoa.jobs.scheduler import dead_letter_topic

    pubsub = resources(MODULES / "pubsub")
    assert pubsub[("google_pubsub_topic", "dead_letter")]["name"] == "${each.value}-dead-letter"
    assert dead_letter_topic("x") == "x-dead-letter"


# ---------------------------------------------------------------- settings.ENV


def test_every_setting_the_code_reads_is_set_for_every_terraform_service():
    root_locals = locals_of(TERRAFORM)
    plain, secret = root_locals["app_env"], root_locals["app_secret_env"]
    assert not set(plain) & set(secret), "a variable is both plain and secret"
    assert set(plain) | set(secret) == set(ENV), (
        f"missing: {set(ENV) - set(plain) - set(secret)}; unknown: {set(plain) | set(secret) - set(ENV)}"
    )
    assert {"DATABASE_URL", "REDIS_URL", "JWT_SECRET"} <= set(secret)
    # production: real BigQuery / Pub/Sub (settings.validate refuses emulators there)
    assert plain["ABBANOA_ENV"] == "production"
    assert plain["BIGQUERY_EMULATOR_HOST"] == "" and plain["PUBSUB_EMULATOR_HOST"] == ""

    services = {
        name: call
        for name, call in module_calls().items()
        if call["source"] in ("./modules/scheduled_function", "./modules/cloud_run_service")
    }
    assert {"job", "notifier", "api", "dashboard"} <= set(services)
    for name, call in services.items():
        env_arg = "environment_variables"
        assert call[env_arg] == "${local.app_env}", f"{name} does not get every plain setting"
        assert call["secret_environment_variables"] == "${local.app_secret_env}", f"{name} misses secrets"

    # ... and the modules put all of them in the container environment
    function = resources(MODULES / "scheduled_function")[("google_cloudfunctions2_function", "function")]
    service = function["service_config"][0]
    assert service["environment_variables"] == "${local.environment}"
    environment = locals_of(MODULES / "scheduled_function")["environment"]
    assert "var.environment_variables" in environment and "JOB_NAME = var.job_name" in environment
    secret_block = named(service["dynamic"], "secret_environment_variables")
    assert secret_block["for_each"] == "${var.secret_environment_variables}"
    run = resources(MODULES / "cloud_run_service")[("google_cloud_run_v2_service", "service")]
    container = run["template"][0]["containers"][0]
    env_sources = {block["env"]["for_each"] for block in container["dynamic"] if "env" in block}
    assert env_sources == {"${var.environment_variables}", "${var.secret_environment_variables}"}


# ---------------------------------------------------------------- BigQuery

# BigQuery answers with legacy type names for the standard SQL ones in the schema files
_LEGACY = {"FLOAT64": "FLOAT", "INT64": "INTEGER", "BOOL": "BOOLEAN", "STRUCT": "RECORD"}


def _legacy_type(field: dict) -> dict:
    return {**field, "type": _LEGACY.get(field["type"], field["type"])}


def test_bigquery_tables_in_terraform_are_the_tables_the_code_creates(warehouse):
    root_locals = locals_of(TERRAFORM)
    tables_file = file_reference(root_locals["tables"], TERRAFORM, root_locals)
    assert tables_file == (bq.WAREHOUSE_DIR / "tables.yaml").resolve()
    call = module_calls()["bigquery"]
    assert call["tables"] == "${local.tables}" and call["warehouse_dir"] == "${local.warehouse_dir}"
    table = resources(MODULES / "bigquery")[("google_bigquery_table", "tables")]
    assert table["for_each"] == "${var.tables}"
    assert table["schema"] == '${file("${var.warehouse_dir}/${each.value.schema}")}'
    assert table["clustering"] == "${try(each.value.clustering, null)}"
    partitioning = named(table["dynamic"], "time_partitioning")
    assert partitioning["for_each"] == "${try([each.value.time_partitioning], [])}"
    assert partitioning["content"][0]["type"] == "${time_partitioning.value.type}"
    assert partitioning["content"][0]["field"] == "${time_partitioning.value.field}"

    # what Terraform would send, table by table, against what the code created in the emulator
    definitions = yaml.safe_load(tables_file.read_text())
    assert set(definitions) == set(bq.table_definitions())
    for name, definition in definitions.items():
        terraform_schema = json.loads((tables_file.parent / definition["schema"]).read_text())
        created = warehouse.client.get_table(warehouse.table_id(name))
        created_schema = [
            {k: v for k, v in field.to_api_repr().items() if k in ("name", "type", "mode", "description")}
            for field in created.schema
        ]
        assert [_legacy_type(f) for f in created_schema] == [_legacy_type(f) for f in terraform_schema], name
        tp = definition.get("time_partitioning")
        if tp:
            assert created.time_partitioning is not None, name
            assert (created.time_partitioning.type_, created.time_partitioning.field) == (tp["type"], tp["field"])
        assert (created.clustering_fields or None) == definition.get("clustering"), name


# ---------------------------------------------------------------- resources the issue lists


def test_stores_are_private_backed_up_and_encrypted_as_the_issue_requires():
    sql = resources(MODULES / "database")[("google_sql_database_instance", "main")]
    settings = sql["settings"][0]
    ip = settings["ip_configuration"][0]
    assert ip["ipv4_enabled"] is False and ip["private_network"] == "${var.network_id}"
    backup = settings["backup_configuration"][0]
    assert backup["enabled"] is True and backup["point_in_time_recovery_enabled"] is True
    assert settings["availability_type"] == '${var.high_availability ? "REGIONAL" : "ZONAL"}'
    flags = {flag["name"]: flag["value"] for flag in settings["database_flags"]}
    assert flags["pg_stat_statements.track"] == "all"
    redis = resources(MODULES / "redis")[("google_redis_instance", "cache")]
    assert redis["auth_enabled"] is True and redis["transit_encryption_mode"] == "SERVER_AUTHENTICATION"
    assert redis["connect_mode"] == "PRIVATE_SERVICE_ACCESS"
    run = resources(MODULES / "cloud_run_service")[("google_cloud_run_v2_service", "service")]
    template = run["template"][0]
    assert template["scaling"][0] == {
        "min_instance_count": "${var.min_instances}",
        "max_instance_count": "${var.max_instances}",
    }
    assert template["vpc_access"][0]["egress"] == "PRIVATE_RANGES_ONLY"
    secret_ids = {"database-url", "redis-url", "jwt-secret", "redis-ca", "sql-ca"}
    assert secret_ids <= set(parse(MODULES / "secrets" / "main.tf")["locals"][0]["values"])
    # PostgreSQL only over TLS, the server verified against the CA file every component mounts
    assert settings["ip_configuration"][0]["ssl_mode"] == "ENCRYPTED_ONLY"
    db_outputs = {n: b for block in module_dir(MODULES / "database")["output"] for n, b in block.items()}
    ca_file = "/secrets/sql-ca/server-ca.pem"
    assert db_outputs["database_url"]["value"].endswith(f"?sslmode=verify-ca&sslrootcert={ca_file}")
    assert f'"{ca_file}"' in (TERRAFORM / "main.tf").read_text()


def test_every_secret_file_gets_its_own_cloud_run_volume():
    # Cloud Run refuses two volumes of one name; the module names a volume after the file's
    # directory, so the mounted files must sit in distinct directories
    files = re.findall(r'"(/secrets/[^"]+)"\s*=', (TERRAFORM / "main.tf").read_text())
    assert len(files) >= 2
    assert len({f.rsplit("/", 1)[0] for f in files}) == len(files), files
    run = (MODULES / "cloud_run_service" / "main.tf").read_text()
    assert run.count("replace(trimprefix(dirname(") == 2 and "basename(volumes.key), " not in run
    monitoring = resources(MODULES / "monitoring")
    assert {("google_monitoring_alert_policy", n) for n in ("job_failures", "api_5xx", "stale_data")} <= set(monitoring)
    assert ("google_monitoring_uptime_check_config", "check") in monitoring
    assert ("google_artifact_registry_repository", "images") in resources(MODULES / "artifact_registry")
    network = resources(MODULES / "network")
    assert ("google_service_networking_connection", "private_services") in network
    assert ("google_vpc_access_connector", "serverless") in network


def test_public_urls_are_outputs():
    outputs = {name: body for block in module_dir(TERRAFORM)["output"] for name, body in block.items()}
    assert outputs["api_url"]["value"] == "${module.api.uri}"
    assert outputs["dashboard_url"]["value"] == "${module.dashboard.uri}"


@pytest.mark.parametrize("role", ["roles/owner", "roles/editor", "roles/bigquery.admin", "roles/pubsub.admin"])
def test_no_component_gets_a_broad_role(role):
    for path in tf_files():
        assert role not in path.read_text(), f"{role} granted in {path}"


def test_a_job_function_reads_the_warehouse_and_publishes_to_its_own_and_the_alert_topic_only():
    iam = resources(MODULES / "iam")
    project_roles = set(locals_of(MODULES / "iam")["base_roles"])
    for (rtype, name), body in iam.items():
        if rtype == "google_project_iam_member" and name != "base":
            project_roles.add(body["role"])
    assert project_roles == {
        "roles/logging.logWriter",
        "roles/monitoring.metricWriter",
        "roles/bigquery.jobUser",  # running a query is project-level; the data is granted per dataset
        "roles/eventarc.eventReceiver",  # receiving its own trigger's events
    }
    reader = iam[("google_bigquery_dataset_iam_member", "reader")]
    assert reader["role"] == "roles/bigquery.dataViewer" and reader["dataset_id"] == "${var.dataset_id}"
    writer = iam[("google_bigquery_dataset_iam_member", "writer")]
    assert "if job.warehouse_write" in writer["for_each"]
    own = iam[("google_pubsub_topic_iam_member", "own_topic")]
    assert own["topic"] == "${var.topics_ready[each.value.topic]}" and own["role"] == "roles/pubsub.publisher"
    alerts = iam[("google_pubsub_topic_iam_member", "alerts")]
    assert alerts["topic"] == "${var.topics_ready[var.alert_topic]}"
    kinds = {rtype for rtype, _ in iam}
    assert kinds == {
        "google_service_account",
        "google_project_iam_member",
        "google_bigquery_dataset_iam_member",
        "google_pubsub_topic_iam_member",
    }
    # one account per job, from the manifest
    assert iam[("google_service_account", "job")]["for_each"] == "${local.job_accounts}"
    assert module_calls()["iam"]["jobs"].startswith("${{for name, job in local.jobs")
