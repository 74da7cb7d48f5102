"""The offline schema check (tests/infra/tfcheck.py against the provider schema of
tests/infra/tfschema.py): the real terraform/ passes, and each kind of mistake a platform
engineer would otherwise meet at `terraform validate` or `apply` is caught in a copy."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.infra import tfcheck, tfschema

TERRAFORM = tfcheck.TERRAFORM


@pytest.fixture(scope="module")
def schema() -> dict:
    return tfschema.load()


def test_the_schema_is_the_pinned_provider_version(schema):
    versions = (TERRAFORM / "versions.tf").read_text()
    assert f'version = "{schema["provider_version"]}"' in versions
    assert schema["package"] == f"@cdktf/provider-google@{tfschema.PACKAGE_VERSION}"
    run = schema["resources"]["google_cloud_run_v2_service"]
    template = run["blocks"]["template"]
    assert template["required"] and template["max_one"]
    containers = template["block"]["blocks"]["containers"]
    assert not containers["max_one"] and containers["block"]["attrs"]["image"]["required"]
    assert "session_affinity" in template["block"]["attrs"] and "uri" in run["attrs"]
    assert not run["attrs"]["uri"]["input"]  # computed


def test_the_real_tree_passes(schema):
    problems = tfcheck.check_tree(TERRAFORM, schema)
    assert problems == []
    # ... and it did look at every module and root, examples included
    assert {d.relative_to(TERRAFORM).as_posix() for d in tfcheck.module_dirs()} >= {".", "modules/cloud_run_service"}


def _copy(tmp_path: Path) -> Path:
    tree = tmp_path / "terraform"
    shutil.copytree(TERRAFORM, tree, ignore=shutil.ignore_patterns(".terraform"))
    return tree


def _edit(tree: Path, relative: str, old: str, new: str) -> None:
    path = tree / relative
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not once in {relative}"
    path.write_text(text.replace(old, new))


RUN = "modules/cloud_run_service/main.tf"
FUNCTION = "modules/scheduled_function/main.tf"

MISTAKES = {
    "typo in a nested block": (
        RUN,
        "        period_seconds    = 5\n",
        "        period_second     = 5\n",
        "startup_probe.period_second: unknown argument 'period_second' (did you mean 'period_seconds'?)",
    ),
    "unknown argument three blocks deep in a dynamic block": (
        RUN,
        "              secret  = env.value\n",
        '              secret  = env.value\n              versoin = "1"\n',
        "value_source.secret_key_ref.versoin: unknown argument",
    ),
    "block written as an attribute": (
        RUN,
        "    scaling {\n      min_instance_count",
        "    scaling = {\n      min_instance_count",
        "'scaling' is a block",
    ),
    "attribute written as a block": (
        RUN,
        "        limits = {\n",
        "        limits {\n",
        "'limits' is an attribute",
    ),
    "missing required argument": (
        RUN,
        "      image = var.image\n",
        "",
        "template.containers: missing required argument 'image'",
    ),
    "missing required block": (
        RUN,
        "  template {\n",
        "  templat {\n",
        "resource.google_cloud_run_v2_service.service: missing required block 'template'",
    ),
    "block repeated where one is allowed": (
        RUN,
        "    vpc_access {\n",
        '    vpc_access {\n      egress = "ALL_TRAFFIC"\n    }\n    vpc_access {\n',
        "block 'vpc_access' may appear once, found 2",
    ),
    "computed attribute set": (
        RUN,
        '  ingress             = "INGRESS_TRAFFIC_ALL"\n',
        '  ingress             = "INGRESS_TRAFFIC_ALL"\n  uri                 = "https://x"\n',
        "uri: computed attribute",
    ),
    "unknown attribute reference": (
        "modules/cloud_run_service/outputs.tf",
        "google_cloud_run_v2_service.service.uri",
        "google_cloud_run_v2_service.service.url",
        "google_cloud_run_v2_service has no attribute 'url'",
    ),
    "unknown nested attribute reference": (
        "modules/database/outputs.tf",
        "google_sql_database_instance.main.server_ca_cert[0].cert\n",
        "google_sql_database_instance.main.server_ca_cert[0].certificate\n",
        "google_sql_database_instance has no attribute 'certificate'",
    ),
    "reference to an undeclared resource": (
        "modules/cloud_run_service/outputs.tf",
        "google_cloud_run_v2_service.service.uri",
        "google_cloud_run_v2_service.svc.uri",
        "google_cloud_run_v2_service.svc: reference to a resource this module does not declare",
    ),
    "unknown resource type": (
        "modules/redis/main.tf",
        'resource "google_redis_instance" "cache"',
        'resource "google_redis_instances" "cache"',
        "unknown resource type (did you mean 'google_redis_instance'?)",
    ),
    "undeclared variable in tfvars": (
        "environments/dev.tfvars",
        "project_id",
        'dashbaord_image = "x"\nproject_id',
        "dashbaord_image: variable not declared by",
    ),
    "undeclared variable referenced": (
        RUN,
        "var.deletion_protection",
        "var.deletion_protect",
        "var.deletion_protect: undeclared variable",
    ),
    "module argument the module does not declare": (
        "main.tf",
        "  subnet_cidr    = var.subnet_cidr\n",
        "  subnet_cidr    = var.subnet_cidr\n  subnet_cdir    = var.subnet_cidr\n",
        "modules/network declares no variable 'subnet_cdir'",
    ),
    "module output that does not exist": (
        "outputs.tf",
        "module.api.uri",
        "module.api.url",
        "./modules/cloud_run_service has no output 'url'",
    ),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_a_deliberate_mistake_is_caught(tmp_path, schema, mistake):
    relative, old, new, expected = MISTAKES[mistake]
    tree = _copy(tmp_path)
    _edit(tree, relative, old, new)
    problems = [str(p) for p in tfcheck.check_tree(tree, schema)]
    assert any(expected in p for p in problems), problems
    assert len(problems) <= 2, problems  # the mistake, not noise


def test_the_command_line_fails_on_a_mistake(tmp_path, schema, capsys):
    tree = _copy(tmp_path)
    _edit(tree, RUN, "        period_seconds    = 5\n", "        period_second     = 5\n")
    assert tfcheck.main([str(tree)]) == 1
    assert "period_second" in capsys.readouterr().out
    assert tfcheck.main([str(TERRAFORM)]) == 0
