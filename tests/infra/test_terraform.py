"""terraform/ read for what it means: Terraform itself evaluates the root module's locals and
module-call arguments and the modules' locals (tests/infra/tfeval.py: no provider, stand-in
values for what only a real plan knows), so the tests assert what a plan would hold (which
job becomes a function or a Cloud Run job, which account reads which secret, which filter an
alert uses) against the files the code reads (schedule manifest, settings, warehouse tables,
Dockerfile). The provider schema check is tests/infra/test_tfcheck.py."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from functools import cache
from pathlib import Path

import pytest
import yaml

from abbanoa.jobs import schedule
from abbanoa.settings import ENV
from abbanoa.stores import bigquery as bq
from tests.infra import tfeval
from tests.infra.tfparse import MODULES, ROOT, TERRAFORM, module_dir, parse, resources, tf_files

MODULE_NAMES = {
    "network",
    "database",
    "redis",
    "bigquery",
    "pubsub",
    "scheduled_function",
    "scheduled_run_job",
    "scheduler",
    "cloud_run_service",
    "monitoring",
    "secrets",
    "artifact_registry",
    "iam",
}
DEV = TERRAFORM / "environments" / "dev.tfvars"
PROD = TERRAFORM / "environments" / "prod.tfvars"
PROJECT = "abbanoa-dev"
SECRETS = ["database-url", "redis-url", "jwt-secret", "metrics-token", "redis-ca", "sql-ca"]
EVENT_DRIVEN_LIMIT_S = 540  # Cloud Functions 2nd gen, event-triggered


def email(account_id: str) -> str:
    return f"{account_id}@{PROJECT}.iam.gserviceaccount.com"


def attribute(directory: Path, rtype: str, name: str, attr: str) -> str:
    """The HCL expression text of a one-line attribute of a resource (for tfeval)."""
    for path in sorted(directory.glob("*.tf")):
        text = path.read_text()
        match = re.search(rf'^resource "{rtype}" "{name}" \{{', text, re.M)
        if match:
            body = text[match.end() : tfeval.block_end(text, match.end() - 1)]
            found = re.search(rf"^\s*{attr}\s*=\s*(.+)$", body, re.M)
            assert found, f"{rtype}.{name} has no one-line {attr}"
            return found.group(1).strip()
    raise AssertionError(f"no resource {rtype}.{name} in {directory}")


# ---------------------------------------------------------------- the plan, evaluated


def _stubs(job_ids: dict[str, str] | None = None, prefix: str = "abbanoa", extra_topics=()) -> dict:
    """Stand-ins for the outputs of the root's modules; job accounts default to <prefix>-<job>
    (plan() evaluates the iam module for the real ids)."""
    job_ids = job_ids or {name: f"{prefix}-{name.replace('_', '-')}" for name in schedule.jobs()}
    topics = {spec.topic for spec in schedule.jobs().values()} | {"alerts", *extra_topics}
    return {
        "data": {"google_project": {"this": {"number": "123456789012"}}},
        "resource": {
            "google_storage_bucket": {"function_source": {"name": f"{PROJECT}-{prefix}-function-source"}},
            "google_storage_bucket_object": {"function_source": {"name": "functions-0123.zip"}},
        },
        "module": {
            "network": {"vpc_connector_id": f"projects/{PROJECT}/locations/europe-west8/connectors/{prefix}-conn"},
            "secrets": {"secret_ids": {name: f"{prefix}-{name}" for name in SECRETS}},
            "pubsub": {
                "topic_ids": {t: f"projects/{PROJECT}/topics/{t}" for t in topics},
                "dead_letter_topic_ids": {t: f"projects/{PROJECT}/topics/{t}-dead-letter" for t in topics},
            },
            "bigquery": {"dataset_id": "water_network"},
            "database": {"database_url": "postgresql+pg8000://u:p@10.0.0.3/abbanoa", "server_ca_pem": "SQL CA"},
            "redis": {"redis_url": "rediss://:auth@10.0.0.4:6378/0", "server_ca_pem": "REDIS CA"},
            "iam": {
                "job_emails": {name: email(account) for name, account in job_ids.items()},
                "api_email": email(f"{prefix}-api"),
                "dashboard_email": email(f"{prefix}-dashboard"),
                "notifier_email": email(f"{prefix}-notifier"),
            },
        },
    }


ROOT_OUTPUTS = {
    "function_jobs": "keys(local.function_jobs)",
    "long_jobs": "keys(local.long_jobs)",
    "job_bigquery": "local.job_bigquery",
    "secret_access": "local.secret_access",
    "secret_env": "local.secret_env",
    "secret_files": "local.secret_files",
    "app_env": "local.app_env",
    "public_env": "local.public_env",
    "runtime": "local.runtime",
}
ROOT_CALLS = ("iam", "job", "long_job", "notifier", "api", "dashboard", "scheduler", "secrets", "pubsub")


@cache
def account_ids(prefix: str = "abbanoa") -> dict[str, str]:
    """Job -> service-account id, as the iam module computes them for the manifest's jobs."""
    jobs = {
        name: {"topic": spec.topic, "bigquery": "read", "kind": "function"} for name, spec in schedule.jobs().items()
    }
    args = {"project_id": PROJECT, "name_prefix": prefix, "jobs": jobs, "alert_topic": "alerts"}
    args |= {"dataset_id": "water_network", "topics_ready": {}}
    return evaluate_iam(args, ids_only=True)["job_accounts"]


@cache
def plan(tfvars: Path = DEV, **variables) -> dict:
    """The root module's locals and module-call arguments for an environment, and the iam
    module evaluated with the arguments the root passes it (account ids, role grants)."""
    prefix = variables.get("name_prefix", "abbanoa")
    stubs = _stubs(account_ids(prefix), prefix)
    root = tfeval.evaluate(TERRAFORM, ROOT_OUTPUTS, dict(variables), (tfvars,), stubs, ROOT_CALLS)
    root["iam"] = evaluate_iam(root["module_iam"])
    return root


def evaluate_iam(args: dict, ids_only: bool = False) -> dict:
    """The iam module's grants for the given arguments (accounts stand in as <id>@project)."""
    prefix = args["name_prefix"]
    components = {c: {"email": email(f"{prefix}-{c}")} for c in ("api", "dashboard", "notifier")}
    if ids_only:
        placeholder = {name: {"email": "placeholder"} for name in args["jobs"]}
        stubs = {"google_service_account": {"job": placeholder, "component": components}}
        found = tfeval.evaluate(
            MODULES / "iam",
            {"job_accounts": "local.job_accounts"},
            args,
            stubs={"data": {}, "module": {}, "resource": stubs},
        )
        return found
    ids = account_ids(prefix)
    accounts = {"job": {name: {"email": email(ids[name])} for name in args["jobs"]}, "component": components}
    outputs = {
        name: f"local.{name}"
        for name in ("job_accounts", "bigquery_readers", "bigquery_editors", "dataset_creators", "event_receivers")
    }
    outputs["long_jobs"] = "local.long_jobs"
    outputs["api_topics"] = "[for name, job in var.jobs : var.topics_ready[job.topic]]"
    return tfeval.evaluate(
        MODULES / "iam",
        outputs,
        args,
        stubs={"data": {}, "module": {}, "resource": {"google_service_account": accounts}},
    )


# ---------------------------------------------------------------- conventions


def test_terraform_fmt_check_passes_on_every_file():
    terraform = shutil.which("terraform")
    assert terraform, "the terraform CLI is not on PATH (tests/infra runs `terraform fmt -check`)"
    result = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-no-color", str(TERRAFORM)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"terraform fmt would change: {result.stdout}"


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
        google = parse(directory / "versions.tf")["terraform"][0]["required_providers"][0]["google"]
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
    prod = parse(PROD)
    assert prod["db_high_availability"] is True and prod["redis_tier"] == "STANDARD_HA"
    assert prod["deletion_protection"] is True and prod["api_min_instances"] >= 1


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("forecast_backend", "arima", "forecast_backend must be local or bqml"),
        ("anomaly_backend", "ml", "anomaly_backend must be local or bqml"),
        ("log_level", "LOUD", "log_level must be DEBUG, INFO"),
        ("subnet_cidr", "10.20.0.0/33", "subnet_cidr must be an IPv4 CIDR"),
        ("connector_cidr", "10.20.8.0/27", "connector_cidr must be an IPv4 /28"),
        ("name_prefix", "abbanoa-staging-2", "name_prefix must be 3-12 characters"),
        ("dashboard_data_mode", "direct", "dashboard_data_mode must be api, hybrid or fallback"),
    ],
)
def test_inputs_with_a_closed_set_of_values_are_validated(variable, value, message):
    with pytest.raises(tfeval.EvaluationError, match=re.escape(message)):
        tfeval.evaluate(TERRAFORM, {}, {variable: value}, (DEV,), _stubs())


def test_the_runtime_object_is_passed_once_to_every_component():
    root = plan()
    runtime = root["runtime"]
    assert runtime["environment"] == root["app_env"] and runtime["project_id"] == PROJECT
    components = [root["module_notifier"], root["module_api"], root["module_dashboard"]]
    components += [*root["module_job"].values(), *root["module_long_job"].values()]
    for args in components:
        assert args["runtime"] == runtime
        assert not {"project_id", "region", "vpc_connector", "environment_variables"} & set(args)


# ---------------------------------------------------------------- schedule manifest (items 3, 7)


def test_every_job_runs_where_its_timeout_fits_and_every_topic_has_one_consumer():
    root = plan()
    jobs = schedule.jobs()
    assert set(root["function_jobs"]) == {n for n, s in jobs.items() if s.timeout_s <= EVENT_DRIVEN_LIMIT_S}
    assert set(root["long_jobs"]) == {n for n, s in jobs.items() if s.timeout_s > EVENT_DRIVEN_LIMIT_S}
    assert root["long_jobs"], "the manifest has jobs longer than an event-driven function allows"
    topics = root["module_pubsub"]["topics"]
    consumers: dict[str, list[str]] = {}
    for name, args in root["module_job"].items():
        spec = jobs[name]
        assert args["function_timeout_s"] == spec.timeout_s <= EVENT_DRIVEN_LIMIT_S
        assert args["function_available_memory_mb"] == spec.memory_mb
        assert (args["max_attempts"], args["min_backoff_s"], args["max_backoff_s"]) == (
            spec.max_attempts,
            spec.min_backoff_s,
            spec.max_backoff_s,
        )
        assert args["function_entry_point"] == "job_pubsub" and args["job_name"] == name
        consumers.setdefault(args["topic_id"], []).append(name)
        assert args["dead_letter_topic_id"] == args["topic_id"] + "-dead-letter"
    for name, args in root["module_long_job"].items():
        spec = jobs[name]
        assert args["timeout_s"] == spec.timeout_s and args["memory_mb"] == spec.memory_mb
        assert (args["max_attempts"], args["min_backoff_s"], args["max_backoff_s"]) == (
            spec.max_attempts,
            spec.min_backoff_s,
            spec.max_backoff_s,
        )
        consumers.setdefault(args["topic_id"], []).append(name)
        assert args["dead_letter_topic_id"] == args["topic_id"] + "-dead-letter"
    consumers.setdefault(root["module_notifier"]["topic_id"], []).append("notifier")
    topic_ids = {f"projects/{PROJECT}/topics/{t}" for t in topics}
    assert set(consumers) == topic_ids, "a topic without a consumer, or a consumer without a topic"
    assert all(len(names) == 1 for names in consumers.values()), consumers
    # the local scheduler names dead-letter topics the same way
    from abbanoa.jobs.scheduler import dead_letter_topic

    assert dead_letter_topic("x") == "x-dead-letter"
    assert resources(MODULES / "pubsub")[("google_pubsub_topic", "dead_letter")]["name"] == "${each.value}-dead-letter"


def test_a_long_job_is_a_cloud_run_job_retried_by_its_workflow_then_dead_lettered():
    root = plan()
    name, args = sorted(root["module_long_job"].items())[0]
    directory = MODULES / "scheduled_run_job"
    found = tfeval.evaluate(
        directory,
        {
            "workflow": "yamldecode(yamlencode(local.workflow))",
            "timeout": attribute(directory, "google_cloud_run_v2_job", "job", "timeout"),
            "max_retries": attribute(directory, "google_cloud_run_v2_job", "job", "max_retries"),
            "command": attribute(directory, "google_cloud_run_v2_job", "job", "command"),
            "topic": "google_eventarc_trigger.topic",
        },
        {k: v for k, v in args.items() if k != "runtime"} | {"runtime": args["runtime"]},
        stubs={
            "data": {},
            "module": {},
            "resource": {"google_eventarc_trigger": {"topic": {"name": "stub"}}},
        },
    )
    spec = schedule.job(name)
    assert found["timeout"] == f"{spec.timeout_s}s" and found["max_retries"] == 0
    assert found["command"] == ["python", "-m", "abbanoa", "run-job", name]
    steps = {k: v for step in found["workflow"]["main"]["steps"] for k, v in step.items()}
    run = steps["run"]
    assert run["try"]["call"] == "googleapis.run.v2.projects.locations.jobs.run"
    assert run["try"]["args"]["name"].endswith(f"/jobs/{args['run_job_name']}")
    assert run["try"]["args"]["connector_params"]["timeout"] > spec.timeout_s  # waits for the run
    assert run["retry"]["max_retries"] == spec.max_attempts - 1
    assert run["retry"]["backoff"]["initial_delay"] == spec.min_backoff_s
    assert run["retry"]["backoff"]["max_delay"] == spec.max_backoff_s
    except_steps = {k: v for step in run["except"]["steps"] for k, v in step.items()}
    assert except_steps["dead_letter"]["call"] == "googleapis.pubsub.v1.projects.topics.publish"
    assert except_steps["dead_letter"]["args"]["topic"] == args["dead_letter_topic_id"]
    assert except_steps["fail"]["raise"] == "${error}"
    # ... and the Eventarc trigger of that workflow listens to the job's topic
    trigger = resources(directory)[("google_eventarc_trigger", "topic")]
    assert trigger["transport"][0]["pubsub"][0]["topic"] == "${var.topic_id}"
    assert trigger["destination"][0]["workflow"] == "${google_workflows_workflow.run.id}"


@pytest.mark.parametrize("tfvars", [DEV, PROD])
def test_no_scheduler_job_fires_before_the_bootstrap_unless_asked(tfvars):
    jobs = schedule.jobs()
    paused = attribute(MODULES / "scheduler", "google_cloud_scheduler_job", "job", "paused")
    for enabled in (None, True):
        variables = {} if enabled is None else {"schedules_enabled": enabled}
        args = tfeval.evaluate(TERRAFORM, {}, variables, (tfvars,), _stubs(), ("scheduler",))["module_scheduler"]
        assert set(args["jobs"]) == {n for n, s in jobs.items() if s.cron}
        for name, job in args["jobs"].items():
            assert job["cron"] == jobs[name].cron
            assert job["topic_id"] == f"projects/{PROJECT}/topics/{jobs[name].topic}"
        state = tfeval.evaluate(MODULES / "scheduler", {"paused": paused}, args)["paused"]
        assert state is (enabled is None), f"schedules_enabled={enabled}: paused={state}"
    assert "google_cloud_scheduler_job" not in {
        t for d in MODULES.iterdir() if d.name != "scheduler" for t, _ in resources(d)
    }


def test_a_job_added_to_the_manifest_is_deployed_without_editing_terraform(tmp_path):
    manifest = yaml.safe_load(schedule.MANIFEST.read_text())
    manifest["jobs"]["leak_report"] = {
        "description": "weekly leak report",
        "cron": "0 7 * * 1",
        "run": "abbanoa.jobs.leak_report:run",
        "topic": "job-leak-report",
        "timeout_s": 1200,
    }
    path = tmp_path / "schedule.yaml"
    path.write_text(yaml.safe_dump(manifest))
    text = (TERRAFORM / "main.tf").read_text()
    old = '"${path.module}/../abbanoa/jobs/schedule.yaml"'
    assert text.count(old) == 1, "the root reads the manifest the code reads"
    tree = tmp_path / "terraform"
    shutil.copytree(TERRAFORM, tree, ignore=shutil.ignore_patterns(".terraform", "environments"))
    text = text.replace(old, f'"{path}"').replace(
        '"${path.module}/../abbanoa/warehouse"', f'"{ROOT}/abbanoa/warehouse"'
    )
    (tree / "main.tf").write_text(text)
    found = tfeval.evaluate(
        tree,
        {"long": "keys(local.long_jobs)", "bq": "local.job_bigquery"},
        {},
        (DEV,),
        _stubs(
            {**plan()["iam"]["job_accounts"], "leak_report": "abbanoa-leak-report"}, extra_topics=["job-leak-report"]
        ),
        module_calls=("scheduler", "pubsub"),
    )
    assert "leak_report" in found["long"] and found["bq"]["leak_report"] == "read"
    assert found["module_scheduler"]["jobs"]["leak_report"]["cron"] == "0 7 * * 1"
    assert "job-leak-report" in found["module_pubsub"]["topics"]


def test_no_job_name_or_topic_is_hard_coded_in_terraform():
    jobs = schedule.jobs()
    literals = {spec.topic for spec in jobs.values()} | set(jobs) | {n.replace("_", "-") for n in jobs}
    freshness = [b["freshness_job"] for b in module_dir(TERRAFORM)["variable"] if "freshness_job" in b][0]
    assert freshness["default"] in jobs, "the stale-data alert must watch a manifest job"
    for path in tf_files():
        text = path.read_text()
        if path == TERRAFORM / "variables.tf":
            text = text.replace(f'default     = "{freshness["default"]}"', "")
        for literal in literals:
            assert not re.search(rf'"[^"\n]*\b{re.escape(literal)}\b[^"\n]*"', text), f"{literal!r} written in {path}"


# ---------------------------------------------------------------- BigQuery (item 2)


def _bqml_setting(spec) -> str | None:
    """The setting under which a job's own code runs BigQuery ML (CREATE MODEL), if any."""
    source = Path(spec.load().__code__.co_filename).read_text()
    found = set(re.findall(r"settings\.(\w+_backend) == \"bqml\"", source))
    assert len(found) <= 1, found
    return found.pop() if found else None


@pytest.mark.parametrize(("forecast", "anomaly"), [("bqml", "local"), ("local", "local"), ("bqml", "bqml")])
def test_no_job_account_lacks_a_bigquery_role_its_backend_needs(forecast, anomaly):
    # bqml / local are the variables' defaults (the default plan)
    changed = {k: v for k, v in {"forecast_backend": forecast, "anomaly_backend": anomaly}.items()}
    changed = {
        k: v for k, v in changed.items() if (k, v) not in {("forecast_backend", "bqml"), ("anomaly_backend", "local")}
    }
    root = plan(**changed)
    iam = root["iam"]
    backends = {"forecast_backend": forecast, "anomaly_backend": anomaly}
    for name, spec in schedule.jobs().items():
        account = email(iam["job_accounts"][name])
        # every job reads the warehouse and may run queries
        assert iam["bigquery_readers"][name] == account
        setting = _bqml_setting(spec)
        creates = "create_all()" in Path(spec.load().__code__.co_filename).read_text()
        needs_edit = creates or (setting is not None and backends[setting] == "bqml")
        assert (name in iam["bigquery_editors"]) is needs_edit, f"{name}: dataEditor {not needs_edit}"
        # create_dataset(exists_ok=True) is refused (403) without bigquery.datasets.create
        assert (name in iam["dataset_creators"]) is creates, name
    assert "dashboard" not in iam["bigquery_readers"], "api mode: the dashboard reads no BigQuery"
    fallback = plan(dashboard_data_mode="fallback")["iam"]
    assert fallback["bigquery_readers"]["dashboard"] == email("abbanoa-dashboard")
    # the project-level job role: jobUser, or bigquery.user for a dataset creator
    iam_dir = MODULES / "iam"
    assert resources(iam_dir)[("google_project_iam_member", "bigquery_job_user")]["role"] == "roles/bigquery.jobUser"
    assert (
        resources(iam_dir)[("google_project_iam_member", "bigquery_dataset_creator")]["role"] == "roles/bigquery.user"
    )
    assert resources(iam_dir)[("google_bigquery_dataset_iam_member", "editor")]["role"] == "roles/bigquery.dataEditor"


def test_bigquery_tables_in_terraform_are_the_tables_the_code_creates(warehouse):
    stubs = _stubs()
    found = tfeval.evaluate(TERRAFORM, {"tables": "local.tables", "dir": "local.warehouse_dir"}, {}, (DEV,), stubs)
    assert Path(found["dir"]).resolve() == bq.WAREHOUSE_DIR.resolve()
    definitions = found["tables"]
    assert set(definitions) == set(bq.table_definitions())
    table = resources(MODULES / "bigquery")[("google_bigquery_table", "tables")]
    assert table["for_each"] == "${var.tables}"
    legacy = {"FLOAT64": "FLOAT", "INT64": "INTEGER", "BOOL": "BOOLEAN", "STRUCT": "RECORD"}
    for name, definition in definitions.items():
        terraform_schema = json.loads((bq.WAREHOUSE_DIR / definition["schema"]).read_text())
        created = warehouse.client.get_table(warehouse.table_id(name))
        created_schema = [
            {k: v for k, v in field.to_api_repr().items() if k in ("name", "type", "mode", "description")}
            for field in created.schema
        ]
        assert [{**f, "type": legacy.get(f["type"], f["type"])} for f in created_schema] == [
            {**f, "type": legacy.get(f["type"], f["type"])} for f in terraform_schema
        ], name
        if tp := definition.get("time_partitioning"):
            assert (created.time_partitioning.type_, created.time_partitioning.field) == (tp["type"], tp["field"])
        assert (created.clustering_fields or None) == definition.get("clustering"), name


# ---------------------------------------------------------------- monitoring (item 1)


def test_alert_filters_match_cloud_runs_short_service_name():
    root = plan()
    fn_dir = MODULES / "scheduled_function"
    name, args = "realtime_sync", root["module_job"]["realtime_sync"]
    output = [b["service_name"] for b in module_dir(fn_dir)["output"] if "service_name" in b][0]["value"]
    full = f"projects/{PROJECT}/locations/europe-west8/services/{args['function_name']}"
    service = tfeval.evaluate(
        fn_dir,
        {"service": output[2:-1]},
        args,
        stubs={
            "data": {},
            "module": {},
            "resource": {"google_cloudfunctions2_function": {"function": {"service_config": [{"service": full}]}}},
        },
    )["service"]
    assert service == args["function_name"] == f"abbanoa-{name.replace('_', '-')}"
    mon = MODULES / "monitoring"
    variables = {
        "project_id": PROJECT,
        "name_prefix": "abbanoa",
        "notification_emails": [],
        "job_services": {name: service},
        "long_job_workflows": {"etl_init": "abbanoa-etl-init"},
        "freshness_service": service,
        "api_service": "abbanoa-api",
        "api_host": "h",
        "dashboard_host": "h",
        "api_health_path": "/healthz",
        "dashboard_health_path": "/_stcore/health",
    }
    filters = tfeval.evaluate(
        mon,
        {
            "job_failures": attribute(mon, "google_monitoring_alert_policy", "job_failures", "filter"),
            "stale_data": attribute(mon, "google_monitoring_alert_policy", "stale_data", "filter"),
            "long_jobs": attribute(mon, "google_monitoring_alert_policy", "long_job_failures", "filter"),
        },
        variables,
        stubs={"data": {}, "module": {}, "resource": {"google_monitoring_notification_channel": {"email": {}}}},
    )
    assert f'resource.labels.service_name = one_of("{service}")' in filters["job_failures"]
    assert f'resource.labels.service_name = "{service}"' in filters["stale_data"]
    assert 'resource.labels.workflow_id = one_of("abbanoa-etl-init")' in filters["long_jobs"]
    for text in filters.values():
        assert "projects/" not in text and "/services/" not in text


# ---------------------------------------------------------------- identities and secrets (items 4, 8, 18.11)


def _grants(root: dict) -> dict[str, set[str]]:
    """Secret -> the members the secrets module grants secretAccessor (its for_each, evaluated)."""
    found = tfeval.evaluate(
        MODULES / "secrets",
        {"grants": "local.grants"},
        root["module_secrets"],
        stubs={
            "data": {},
            "module": {},
            "resource": {"random_password": {"jwt": {"result": "x"}, "metrics": {"result": "y"}}},
        },
    )["grants"]
    by_secret: dict[str, set[str]] = {name: set() for name in SECRETS}
    for key, grant in found.items():
        assert key.startswith(grant["secret"] + "/")
        by_secret[grant["secret"]].add(grant["member"])
    return by_secret


@pytest.mark.parametrize("mode", ["api", "hybrid"])
def test_each_secret_is_readable_by_exactly_the_accounts_that_use_it(mode):
    root = plan(dashboard_data_mode=mode)
    ids = root["iam"]["job_accounts"]
    jobs = {email(account) for account in ids.values()}
    api, dashboard, notifier = email("abbanoa-api"), email("abbanoa-dashboard"), email("abbanoa-notifier")
    hybrid = {dashboard} if mode == "hybrid" else set()
    expected = {
        "database-url": jobs | {api, notifier} | hybrid,
        "sql-ca": jobs | {api, notifier} | hybrid,
        "redis-url": jobs | {api} | hybrid,
        "redis-ca": jobs | {api} | hybrid,
        "jwt-secret": {api},  # a compromised dashboard or job cannot forge tokens
        "metrics-token": {api},
    }
    assert _grants(root) == expected
    # ... and each component mounts exactly what it may read
    env_names = {"database-url": "DATABASE_URL", "redis-url": "REDIS_URL", "jwt-secret": "JWT_SECRET"}
    env_names["metrics-token"] = "METRICS_TOKEN"
    for component, module in [
        ("api", "module_api"),
        ("dashboard", "module_dashboard"),
        ("notifier", "module_notifier"),
    ]:
        args = root[module]
        member = email(f"abbanoa-{component}")
        readable = {secret for secret, members in expected.items() if member in members}
        mounted = {f"abbanoa-{s}" for s in readable}
        assert set(args["secret_environment_variables"].values()) | set(args["secret_files"].values()) == mounted
        assert set(args["secret_environment_variables"]) == {env_names[s] for s in readable if s in env_names}
    for name, args in [*root["module_job"].items(), *root["module_long_job"].items()]:
        assert set(args["secret_environment_variables"]) == {"DATABASE_URL", "REDIS_URL"}, name
        assert set(args["secret_files"].values()) == {"abbanoa-sql-ca", "abbanoa-redis-ca"}, name


def test_every_setting_the_code_reads_is_set_for_every_component():
    root = plan()
    plain = root["app_env"]
    secret_names = {"DATABASE_URL", "REDIS_URL", "JWT_SECRET", "METRICS_TOKEN"}
    assert not set(plain) & secret_names
    assert set(plain) | secret_names == set(ENV), set(ENV) ^ (set(plain) | secret_names)
    assert plain["ABBANOA_ENV"] == "production"
    assert plain["BIGQUERY_EMULATOR_HOST"] == "" and plain["PUBSUB_EMULATOR_HOST"] == ""
    # Cloud Run's front end is the one proxy before the public services; nothing is before a job
    assert plain["TRUSTED_PROXY_HOPS"] == "0"
    for module in ("module_api", "module_dashboard"):
        assert root[module]["environment_overrides"] == {"TRUSTED_PROXY_HOPS": "1"}
    # the modules put the plain settings and their overrides into the container environment
    run = MODULES / "cloud_run_service"
    env = tfeval.evaluate(run, {"env": "local.environment"}, root["module_api"])["env"]
    assert env == {**plain, "TRUSTED_PROXY_HOPS": "1"}
    fn = MODULES / "scheduled_function"
    env = tfeval.evaluate(fn, {"env": "local.environment"}, root["module_job"]["realtime_sync"])["env"]
    assert env == {**plain, "JOB_NAME": "realtime_sync"}


def test_the_api_publishes_run_now_to_exactly_the_job_topics_and_has_no_bigquery_role():
    root = plan()
    iam = root["iam"]
    assert sorted(iam["api_topics"]) == sorted(f"projects/{PROJECT}/topics/{s.topic}" for s in schedule.jobs().values())
    granted = resources(MODULES / "iam")[("google_pubsub_topic_iam_member", "api_run_now")]
    assert granted["role"] == "roles/pubsub.publisher"
    api = email("abbanoa-api")
    for grants in ("bigquery_readers", "bigquery_editors", "dataset_creators"):
        assert api not in iam[grants].values()
    # the topics the API publishes to are the ones the scheduler and the code use
    assert {s.topic for s in schedule.jobs().values()} <= set(root["module_pubsub"]["topics"])


@pytest.mark.parametrize("role", ["roles/owner", "roles/editor", "roles/bigquery.admin", "roles/pubsub.admin"])
def test_no_component_gets_a_broad_role(role):
    for path in tf_files():
        assert role not in path.read_text(), f"{role} granted in {path}"


@pytest.mark.parametrize("prefix", ["abbanoa", "abc", "abbanoa-stg1"])
def test_service_account_ids_carry_the_prefix_and_are_valid_and_distinct(prefix):
    root = tfeval.evaluate(
        TERRAFORM, {}, {"name_prefix": prefix}, (DEV,), _stubs(account_ids(prefix), prefix), ("iam",)
    )
    assert root["module_iam"]["name_prefix"] == prefix
    ids = account_ids(prefix)
    assert set(ids) == set(schedule.jobs())
    components = [f"{prefix}-{c}" for c in ("api", "dashboard", "notifier")]
    every = [*ids.values(), *components]
    assert len(set(every)) == len(every), every
    for account in every:
        assert account.startswith(prefix + "-"), account
        assert re.fullmatch(r"[a-z][-a-z0-9]{4,28}[a-z0-9]", account), account


def test_cloud_run_concurrency_matches_the_servers_slots():
    dockerfile = (ROOT / "Dockerfile").read_text()
    api_stage = dockerfile[dockerfile.index("AS api") :].split("\nFROM ")[0]
    workers = int(re.search(r"--workers[ =](\d+)", api_stage).group(1))
    threads = int(re.search(r"--threads[ =](\d+)", api_stage).group(1))
    root = plan()
    assert root["module_api"]["concurrency"] == workers * threads
    run = MODULES / "cloud_run_service"
    value = attribute(run, "google_cloud_run_v2_service", "service", "max_instance_request_concurrency")
    assert tfeval.evaluate(run, {"c": value}, root["module_api"])["c"] == workers * threads


def test_the_dashboard_keeps_its_websocket_for_cloud_runs_longest_request_and_its_instance():
    root = plan()
    run = MODULES / "cloud_run_service"
    values = {
        "timeout": attribute(run, "google_cloud_run_v2_service", "service", "timeout"),
        "affinity": attribute(run, "google_cloud_run_v2_service", "service", "session_affinity"),
    }
    dashboard = tfeval.evaluate(run, values, root["module_dashboard"])
    assert dashboard == {"timeout": "3600s", "affinity": True}  # 3600 s: Cloud Run's maximum
    api = tfeval.evaluate(run, values, root["module_api"])
    assert api == {"timeout": "60s", "affinity": False}


def test_redis_clients_trust_every_server_ca_of_the_instance():
    redis = MODULES / "redis"
    output = [b["server_ca_pem"] for b in module_dir(redis)["output"] if "server_ca_pem" in b][0]["value"]
    certs = [{"cert": "-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n"}, {"cert": "B\n"}]
    found = tfeval.evaluate(
        redis,
        {"pem": output[2:-1]},
        {"project_id": "p", "region": "r", "name_prefix": "abbanoa", "network_id": "n", "tier": "BASIC"}
        | {"memory_size_gb": 1},
        stubs={"data": {}, "module": {}, "resource": {"google_redis_instance": {"cache": {"server_ca_certs": certs}}}},
    )
    assert found["pem"] == "-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\nB"


# ---------------------------------------------------------------- stores, function source (item 6)


def test_stores_are_private_backed_up_and_encrypted():
    sql = resources(MODULES / "database")[("google_sql_database_instance", "main")]
    settings = sql["settings"][0]
    ip = settings["ip_configuration"][0]
    assert ip["ipv4_enabled"] is False and ip["ssl_mode"] == "ENCRYPTED_ONLY"
    backup = settings["backup_configuration"][0]
    assert backup["enabled"] is True and backup["point_in_time_recovery_enabled"] is True
    redis = resources(MODULES / "redis")[("google_redis_instance", "cache")]
    assert redis["auth_enabled"] is True and redis["transit_encryption_mode"] == "SERVER_AUTHENTICATION"
    assert redis["connect_mode"] == "PRIVATE_SERVICE_ACCESS"
    db_outputs = {n: b for block in module_dir(MODULES / "database")["output"] for n, b in block.items()}
    assert db_outputs["database_url"]["value"].endswith("?sslmode=verify-ca&sslrootcert=/secrets/sql-ca/server-ca.pem")
    files = plan()["secret_files"]["api"]
    assert files == {
        "/secrets/sql-ca/server-ca.pem": "abbanoa-sql-ca",
        "/secrets/redis-ca/server-ca.pem": "abbanoa-redis-ca",
    }
    # one Cloud Run volume per secret directory: the files sit in distinct directories
    assert len({f.rsplit("/", 1)[0] for f in files}) == len(files)


TEST_TOOLS = {
    "pytest",
    "pytest-xdist",
    "pytest-localserver",
    "hypothesis",
    "schemathesis",
    "pypdf",
    "python-hcl2",
    "ruff",
    "checkov",
    "coverage",
    "pytest-cov",
}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _names(lines: list[str]) -> set[str]:
    return {_canonical(re.split(r"[=<>!~\[ ;]", line, maxsplit=1)[0]) for line in lines if line and line[0].isalnum()}


def test_the_function_source_installs_runtime_dependencies_only(tmp_path):
    out = tmp_path / "functions-source.zip"
    subprocess.run(["scripts/build-function-source.sh", str(out)], cwd=ROOT, check=True, timeout=120)
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        requirements = archive.read("requirements.txt").decode().splitlines()
    assert "main.py" in names and any(n.startswith("abbanoa/") for n in names)
    assert not any(n.startswith(("tests/", "bench/", "terraform/")) for n in names)
    installed = _names(requirements)
    runtime = _names((ROOT / "requirements.txt").read_text().splitlines())
    servers = {"streamlit", "plotly"}  # the dashboard's, imported by no function
    assert runtime - servers <= installed and not servers & installed
    assert not installed & TEST_TOOLS, installed & TEST_TOOLS
    # every line pins a version, and pins the version constraints.txt resolved
    pins = [line.split("==", 1) for line in (ROOT / "constraints.txt").read_text().splitlines() if "==" in line]
    constraints = {_canonical(name): version.strip() for name, version in pins}
    for line in requirements:
        if line and line[0].isalnum():
            name, version = line.split("==", 1)
            assert constraints.get(_canonical(name)) == version, line
    dev = _names((ROOT / "requirements-dev.txt").read_text().splitlines())
    assert {"pytest", "ruff", "hypothesis", "schemathesis", "python-hcl2"} <= dev
    assert not runtime & TEST_TOOLS, "requirements.txt is for runtime dependencies only"
