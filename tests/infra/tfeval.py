"""Terraform itself evaluates our expressions, offline: the `variable` and `locals` blocks of
a module (and the arguments of its module calls) are copied into a scratch root module that
needs no provider, references to resources, data sources and other modules are replaced by
stand-in values (`local.stubs`, a JSON file), and `terraform apply` computes the requested
outputs. So a test reads what a plan would hold (which jobs become functions, which account
reads which secret), not the spelling of an HCL expression; the variables' own validation
blocks run too.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from tests.infra.tfschema import ROOT

TERRAFORM = ROOT / "terraform"
_TOP = re.compile(r'^(locals|variable\s+"([^"]+)"|module\s+"([^"]+)"|output\s+"([^"]+)")\s*\{', re.M)
_RESOURCE_REF = re.compile(r"(?<![\w.\"])(google_[a-z0-9_]+|random_[a-z0-9_]+|terraform_data)\.([a-zA-Z_][\w-]*)")
_DATA_REF = re.compile(r"(?<![\w.\"])data\.([a-z0-9_]+)\.([a-zA-Z_][\w-]*)")
_MODULE_REF = re.compile(r"(?<![\w.\"])module\.([a-zA-Z_][\w-]*)")
_DROP_ARGS = re.compile(r"^\s*(source|for_each|count|depends_on|providers|version)\s*=.*$", re.M)


class EvaluationError(AssertionError):
    pass


def block_end(text: str, start: int) -> int:
    """Index of the `}` closing the `{` at start (strings, interpolations, comments, heredocs)."""
    stack = ["{"]
    i = start + 1
    while i < len(text):
        c, top = text[i], stack[-1]
        if top == '"':
            if c == "\\":
                i += 2
                continue
            if c == '"':
                stack.pop()
            elif text.startswith("$${", i) or text.startswith("%%{", i):
                i += 3  # an escaped, literal ${ or %{
                continue
            elif text.startswith("${", i) or text.startswith("%{", i):
                stack.append("${")
                i += 2
                continue
        else:
            if c == '"':
                stack.append('"')
            elif c == "#" or text.startswith("//", i):
                i = text.find("\n", i)
                if i < 0:
                    break
            elif text.startswith("/*", i):
                i = text.find("*/", i) + 1
            elif (heredoc := re.match(r"<<-?([A-Z_]+)\n", text[i:])) is not None:
                marker = heredoc.group(1)
                end = re.compile(rf"^\s*{marker}\s*$", re.M).search(text, i + heredoc.end())
                i = end.end() if end else len(text)
                continue
            elif c == "{":
                stack.append("{")
            elif c == "}":
                stack.pop()
                if not stack:
                    return i
        i += 1
    raise EvaluationError("unbalanced braces")


def blocks(directory: Path) -> dict[str, dict[str, str]]:
    """kind (locals/variable/module/output) -> name -> the block's text (locals: its body)."""
    found: dict[str, dict[str, str]] = {"locals": {}, "variable": {}, "module": {}, "output": {}}
    for path in sorted(directory.glob("*.tf")):
        text = path.read_text()
        pos = 0
        while (match := _TOP.search(text, pos)) is not None:
            end = block_end(text, match.end() - 1)
            kind = match.group(1).split()[0]
            name = match.group(2) or match.group(3) or match.group(4) or f"{path.name}:{match.start()}"
            found[kind][name] = text[match.start() : end + 1] if kind == "variable" else text[match.end() : end]
            pos = end + 1
    return found


def rewrite(expression: str, directory: Path) -> str:
    """References to what only a real plan knows -> local.stubs; path.module -> the module's path."""
    expression = _DATA_REF.sub(r'local.stubs["data"]["\1"]["\2"]', expression)
    expression = _MODULE_REF.sub(r'local.stubs["module"]["\1"]', expression)
    expression = _RESOURCE_REF.sub(r'local.stubs["resource"]["\1"]["\2"]', expression)
    return expression.replace("${path.module}", str(directory)).replace("path.module", f'"{directory}"')


def module_call_arguments(directory: Path, name: str) -> str:
    """An object expression of a module call's arguments (each.key/each.value -> per key)."""
    body = blocks(directory)["module"][name]
    for_each = re.search(r"^\s*for_each\s*=\s*(.+)$", body, re.M)
    inner = "{\n" + _DROP_ARGS.sub("", body) + "\n}"
    if for_each:
        inner = inner.replace("each.key", "__key").replace("each.value", "__value")
        return f"{{ for __key, __value in {for_each.group(1)} : __key => {inner} }}"
    return inner


def evaluate(
    directory: Path,
    outputs: dict[str, str],
    variables: dict[str, Any] | None = None,
    var_files: tuple[Path, ...] = (),
    stubs: dict[str, Any] | None = None,
    module_calls: tuple[str, ...] = (),
) -> dict[str, Any]:
    """outputs (name -> HCL expression in the module's scope) as Terraform computes them.
    module_calls: also output `module_<name>`, the arguments of those module calls."""
    terraform = shutil.which("terraform")
    assert terraform, "the terraform CLI is not on PATH"
    directory = directory.resolve()
    found = blocks(directory)
    parts = [*found["variable"].values()]
    local_bodies = [rewrite(body, directory) for body in found["locals"].values()]
    parts.append('locals {\n  stubs = jsondecode(file("${path.module}/stubs.json"))\n}')
    parts.extend("locals {" + body + "}" for body in local_bodies)
    wanted = dict(outputs)
    for name in module_calls:
        wanted[f"module_{name}"] = module_call_arguments(directory, name)
    for name, expression in wanted.items():
        parts.append(f'output "{name}" {{\n  value = {rewrite(expression, directory)}\n}}')
    with tempfile.TemporaryDirectory(prefix="tfeval-") as scratch:
        work = Path(scratch)
        (work / "main.tf").write_text("\n\n".join(parts) + "\n")
        (work / "stubs.json").write_text(json.dumps(stubs or {"data": {}, "module": {}, "resource": {}}))
        args = [f"-var-file={path}" for path in var_files]
        args += [f"-var={key}={_hcl(value)}" for key, value in (variables or {}).items()]
        env = {**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1", "TF_CLI_CONFIG_FILE": "/dev/null"}
        # no provider and no module: apply needs no init; the outputs are read from the state
        result = subprocess.run(
            [terraform, "apply", "-auto-approve", "-input=false", "-lock=false", "-no-color", *args],
            cwd=work,
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        if result.returncode != 0:
            raise EvaluationError(f"terraform apply failed:\n{_unique_errors(result.stderr)}")
        state = json.loads((work / "terraform.tfstate").read_text())
        return {name: value["value"] for name, value in state.get("outputs", {}).items()}


def _unique_errors(stderr: str) -> str:
    """Terraform repeats an error per for_each element: each distinct one once."""
    seen: list[str] = []
    for part in stderr.split("\nError: "):
        if part.strip() and part not in seen:
            seen.append(part)
    return "\nError: ".join(seen)[:6000]


def _hcl(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)
