"""Offline `terraform validate` for terraform/: every .tf file against the Google provider's
own schema (tests/infra/tfschema.py, the pinned provider version), and every module call,
reference and tfvars file against the modules it names.

Reported, at any depth of nesting (dynamic blocks included):
- unknown resource / data source types, unknown arguments and blocks (with the nearest
  valid name), computed-only attributes that are set;
- an attribute written as a block (`x { }` for `x = ...`) or a block written as an
  attribute, a block repeated where the schema allows one;
- required arguments and blocks that are missing;
- references to resources, data sources, modules, outputs, variables and locals that do not
  exist, to attributes a resource does not have (`google_x.y.attr[0].sub`), and instance
  mistakes (`google_x.y.attr` on a resource with count/for_each, `google_x.y[0]` on one
  without);
- module arguments the module does not declare and its required variables not passed;
- variables set in a .tfvars file that its root module does not declare.

    python -m tests.infra.tfcheck [DIR]     (default terraform/; exit 1 on any problem)
"""

from __future__ import annotations

import copy
import difflib
import functools
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2

from tests.infra import tfschema

TERRAFORM = tfschema.ROOT / "terraform"
OPTIONS = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=True, with_comments=False)
BLOCK = "__is_block__"

# Terraform's own arguments of resource/data/module blocks (not in the provider schema)
META = {"count", "for_each", "depends_on", "provider"}
META_BLOCKS = {"lifecycle", "provisioner", "connection"}
LIFECYCLE = {"create_before_destroy", "prevent_destroy", "ignore_changes", "replace_triggered_by"}
VARIABLE_KEYS = {"type", "default", "description", "sensitive", "nullable", "ephemeral"}
OUTPUT_KEYS = {"value", "description", "sensitive", "depends_on", "ephemeral"}
MODULE_META = {"source", "version", "providers", "count", "for_each", "depends_on"}
# resource types of other providers: their declarations and references are checked, not their arguments
OTHER_PROVIDERS = ("random_", "terraform_data", "null_", "time_", "archive_")
BUILTIN_ROOTS = {"var", "local", "module", "data", "each", "count", "path", "self", "terraform"}

_REFERENCE = re.compile(
    r"(?<![\w.\"'])(data\.)?([a-z][a-z0-9]*_[a-z0-9_]+|terraform_data)\.([a-zA-Z_][\w-]*)((?:\[[^\[\]]*\]|\.[a-zA-Z_*][\w-]*)*)"
)
_NAMED = re.compile(r"(?<![\w.\"'])(var|local|module)\.([a-zA-Z_][\w-]*)((?:\[[^\[\]]*\]|\.[a-zA-Z_*][\w-]*)*)")
_STEP = re.compile(r"\[[^\[\]]*\]|\.[a-zA-Z_*][\w-]*")
_ITERATORS = re.compile(r"\bfor\s+([a-zA-Z_]\w*)(?:\s*,\s*([a-zA-Z_]\w*))?\s+in\b")


@dataclass(frozen=True)
class Problem:
    file: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.where}: {self.message}"


def parse(path: Path) -> dict[str, Any]:
    return copy.deepcopy(_parse_text(path.read_text()))


@functools.lru_cache(maxsize=512)
def _parse_text(text: str) -> dict[str, Any]:
    return hcl2.loads(text, serialization_options=OPTIONS)


def is_block(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) and v.get(BLOCK) for v in value)


def _suggest(name: str, options) -> str:
    close = difflib.get_close_matches(name, sorted(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def strings(value: Any):
    """Every string inside a parsed value (expressions are strings with ${...})."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, inner in value.items():
            if not key.startswith("__"):
                yield from strings(key)
                yield from strings(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from strings(inner)


class Module:
    """One directory of .tf files, parsed and indexed."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.files = {p: parse(p) for p in sorted(directory.glob("*.tf"))}
        self.resources: dict[tuple[str, str], tuple[Path, dict]] = {}
        self.data: dict[tuple[str, str], tuple[Path, dict]] = {}
        self.modules: dict[str, tuple[Path, dict]] = {}
        self.variables: dict[str, dict] = {}
        self.outputs: dict[str, dict] = {}
        self.locals: dict[str, Any] = {}
        for path, doc in self.files.items():
            for kind, target in (("resource", self.resources), ("data", self.data)):
                for block in doc.get(kind, []):
                    for rtype, by_name in block.items():
                        if rtype.startswith("__"):
                            continue
                        for name, body in by_name.items():
                            if not name.startswith("__"):
                                target[(rtype, name)] = (path, body)
            for block in doc.get("module", []):
                for name, body in block.items():
                    if not name.startswith("__"):
                        self.modules[name] = (path, body)
            for block in doc.get("variable", []):
                self.variables.update({k: v for k, v in block.items() if not k.startswith("__")})
            for block in doc.get("output", []):
                self.outputs.update({k: v for k, v in block.items() if not k.startswith("__")})
            for block in doc.get("locals", []):
                self.locals.update({k: v for k, v in block.items() if not k.startswith("__")})

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(tfschema.ROOT))
        except ValueError:
            return str(path)


class Checker:
    def __init__(self, schema: dict | None = None):
        self.schema = schema if schema is not None else tfschema.load()
        self.problems: list[Problem] = []
        self._modules: dict[Path, Module] = {}

    def module(self, directory: Path) -> Module:
        directory = directory.resolve()
        if directory not in self._modules:
            self._modules[directory] = Module(directory)
        return self._modules[directory]

    def report(self, module: Module, path: Path, where: str, message: str) -> None:
        self.problems.append(Problem(module.rel(path), where, message))

    # ------------------------------------------------------------ arguments against the schema

    def check_body(self, module: Module, path: Path, where: str, body: dict, schema: dict, top: bool) -> None:
        attrs, blocks = schema["attrs"], schema["blocks"]
        present: set[str] = set()
        for key, value in body.items():
            if key.startswith("__"):
                continue
            here = f"{where}.{key}"
            if top and key in META:
                continue
            if top and key in META_BLOCKS:
                if key == "lifecycle":
                    for block in value if is_block(value) else []:
                        for inner in block:
                            if not inner.startswith("__") and inner not in LIFECYCLE | {
                                "precondition",
                                "postcondition",
                            }:
                                self.report(module, path, f"{here}.{inner}", "unknown lifecycle argument")
                continue
            if key == "dynamic" and isinstance(value, list):
                for entry in value:
                    for label, spec in entry.items():
                        if label.startswith("__"):
                            continue
                        dyn = f"{where}.dynamic[{label!r}]"
                        if label not in blocks:
                            hint = " (an attribute: set it with an expression)" if label in attrs else ""
                            self.report(module, path, dyn, f"no block {label!r} here{hint}{_suggest(label, blocks)}")
                            continue
                        present.add(label)
                        for content in spec.get("content", []):
                            if blocks[label]["block"] is not None:
                                self.check_body(module, path, f"{dyn}.content", content, blocks[label]["block"], False)
                continue
            if key in attrs:
                present.add(key)
                if not attrs[key]["input"]:
                    self.report(module, path, here, "computed attribute: it can be read, not set")
                elif is_block(value):
                    self.report(module, path, here, f"{key!r} is an attribute: write `{key} = ...`, not a block")
            elif key in blocks:
                present.add(key)
                spec = blocks[key]
                if not is_block(value):
                    self.report(module, path, here, f"{key!r} is a block: write `{key} {{ ... }}`, not `{key} = ...`")
                    continue
                if spec["max_one"] and len(value) > 1:
                    self.report(module, path, here, f"block {key!r} may appear once, found {len(value)}")
                if spec["block"] is not None:
                    for i, inner in enumerate(value):
                        self.check_body(
                            module, path, here if len(value) == 1 else f"{here}[{i}]", inner, spec["block"], False
                        )
            else:
                self.report(module, path, here, f"unknown argument {key!r}{_suggest(key, [*attrs, *blocks])}")
        for name, spec in attrs.items():
            if spec["required"] and name not in present:
                self.report(module, path, where, f"missing required argument {name!r}")
        for name, spec in blocks.items():
            if spec["required"] and name not in present:
                self.report(module, path, where, f"missing required block {name!r}")

    def check_declarations(self, module: Module) -> None:
        for (rtype, name), (path, body) in module.resources.items():
            where = f"resource.{rtype}.{name}"
            if rtype.startswith(OTHER_PROVIDERS):
                continue
            schema = self.schema["resources"].get(rtype)
            if schema is None:
                self.report(module, path, where, f"unknown resource type{_suggest(rtype, self.schema['resources'])}")
                continue
            self.check_body(module, path, where, body, schema, True)
        for (rtype, name), (path, body) in module.data.items():
            where = f"data.{rtype}.{name}"
            if rtype.startswith(OTHER_PROVIDERS):
                continue
            schema = self.schema["data_sources"].get(rtype)
            if schema is None:
                self.report(module, path, where, f"unknown data source{_suggest(rtype, self.schema['data_sources'])}")
                continue
            self.check_body(module, path, where, body, schema, True)
        for path, doc in module.files.items():
            for block in doc.get("provider", []):
                for name, body in block.items():
                    if name == "google" and not name.startswith("__"):
                        body = {k: v for k, v in body.items() if k != "alias"}
                        self.check_body(module, path, "provider.google", body, self.schema["provider"], False)
        for name, body in module.variables.items():
            for key in body:
                if not key.startswith("__") and key not in VARIABLE_KEYS | {"validation"}:
                    self.report(module, module.directory / "variables.tf", f"variable.{name}", f"unknown key {key!r}")
        for name, body in module.outputs.items():
            for key in body:
                if not key.startswith("__") and key not in OUTPUT_KEYS | {"precondition"}:
                    self.report(module, module.directory / "outputs.tf", f"output.{name}", f"unknown key {key!r}")

    # ------------------------------------------------------------ module calls

    def check_module_calls(self, module: Module) -> None:
        for name, (path, body) in module.modules.items():
            source = body.get("source", "")
            if not source.startswith("./") and not source.startswith("../"):
                continue
            target_dir = (module.directory / source).resolve()
            if not target_dir.is_dir():
                self.report(module, path, f"module.{name}", f"source {source!r} is not a directory")
                continue
            child = self.module(target_dir)
            for key in body:
                if key.startswith("__") or key in MODULE_META:
                    continue
                if key not in child.variables:
                    self.report(
                        module,
                        path,
                        f"module.{name}.{key}",
                        f"{source} declares no variable {key!r}{_suggest(key, child.variables)}",
                    )
            for var, spec in child.variables.items():
                if "default" not in spec and var not in body:
                    self.report(module, path, f"module.{name}", f"missing required variable {var!r} of {source}")

    # ------------------------------------------------------------ references

    def _walk_attr(self, schema: dict, steps: list[str]) -> str | None:
        """Follow .attr / [i] steps through a schema block; the first invalid step, or None."""
        current: dict | None = schema
        for step in steps:
            if step.startswith("["):
                continue
            name = step[1:]
            if current is None or name == "*":
                return None
            if name in current["blocks"]:
                current = current["blocks"][name]["block"]
            elif name in current["attrs"]:
                current = current["attrs"][name].get("nested")
                if current is None:
                    return None  # a map, list or object attribute: keys are values, not schema
            else:
                return name
        return None

    def check_references(self, module: Module) -> None:
        declared_res = set(module.resources)
        declared_data = set(module.data)
        # dynamic blocks' iterators (`env.value`) are no resources
        dynamic_iterators = set()
        for doc in module.files.values():
            _collect_dynamic(doc, dynamic_iterators)
        for path, doc in module.files.items():
            for kind, blocks in doc.items():
                if kind in ("terraform", "variable") or kind.startswith("__"):
                    continue
                for text in strings(blocks):
                    if "${" not in text:
                        continue
                    iterators = {m for pair in _ITERATORS.findall(text) for m in pair if m}
                    for match in _REFERENCE.finditer(text):
                        is_data, rtype, name, rest = match.groups()
                        if (
                            rtype in BUILTIN_ROOTS
                            or rtype in iterators | dynamic_iterators
                            or not (rtype.startswith("google_") or rtype.startswith(OTHER_PROVIDERS))
                        ):
                            continue
                        if text[match.start() - 1 : match.start()] in (".",):
                            continue
                        table = declared_data if is_data else declared_res
                        ref = f"{'data.' if is_data else ''}{rtype}.{name}"
                        if (rtype, name) not in table:
                            self.report(module, path, ref, "reference to a resource this module does not declare")
                            continue
                        body = (module.data if is_data else module.resources)[(rtype, name)][1]
                        steps = _STEP.findall(rest)
                        repeated = "count" in body or "for_each" in body
                        if steps and repeated and not steps[0].startswith("["):
                            self.report(module, path, ref + rest, f"{ref} has count/for_each: index an instance first")
                            continue
                        if steps and not repeated and steps[0].startswith("[") and steps[0] != "[*]":
                            self.report(module, path, ref + rest, f"{ref} has no count/for_each: it has no instances")
                            continue
                        if rtype.startswith(OTHER_PROVIDERS):
                            continue
                        kind_schema = self.schema["data_sources" if is_data else "resources"].get(rtype)
                        if kind_schema is None:
                            continue
                        bad = self._walk_attr(kind_schema, steps[1:] if repeated else steps)
                        if bad is not None:
                            self.report(module, path, ref + rest, f"{rtype} has no attribute {bad!r}")
                    for match in _NAMED.finditer(text):
                        root, name, rest = match.groups()
                        where = f"{root}.{name}"
                        if root == "var" and name not in module.variables:
                            self.report(module, path, where, "undeclared variable")
                        elif root == "local" and name not in module.locals:
                            self.report(module, path, where, "undeclared local value")
                        elif root == "module":
                            if name not in module.modules:
                                self.report(module, path, where, "undeclared module")
                                continue
                            source = module.modules[name][1].get("source", "")
                            steps = [s for s in _STEP.findall(rest) if not s.startswith("[")]
                            if steps and source.startswith("."):
                                child = self.module(module.directory / source)
                                output = steps[0][1:]
                                if output != "*" and output not in child.outputs:
                                    self.report(
                                        module,
                                        path,
                                        where + rest,
                                        f"{source} has no output {output!r}{_suggest(output, child.outputs)}",
                                    )

    # ------------------------------------------------------------ tfvars

    def check_tfvars(self, module: Module, tfvars: Path) -> None:
        values = parse(tfvars)
        for key in values:
            if not key.startswith("__") and key not in module.variables:
                self.problems.append(
                    Problem(
                        module.rel(tfvars),
                        key,
                        f"variable not declared by {module.rel(module.directory) or '.'}"
                        f"{_suggest(key, module.variables)}",
                    )
                )
        for name, spec in module.variables.items():
            if "default" not in spec and name not in values:
                self.problems.append(Problem(module.rel(tfvars), name, "required variable not set"))

    def check_module(self, directory: Path) -> None:
        module = self.module(directory)
        self.check_declarations(module)
        self.check_module_calls(module)
        self.check_references(module)


def _collect_dynamic(value: Any, found: set[str]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "dynamic" and isinstance(inner, list):
                for entry in inner:
                    for label, spec in entry.items():
                        if not label.startswith("__"):
                            found.add(spec.get("iterator", label) if isinstance(spec, dict) else label)
            _collect_dynamic(inner, found)
    elif isinstance(value, list):
        for inner in value:
            _collect_dynamic(inner, found)


def module_dirs(tree: Path = TERRAFORM) -> list[Path]:
    return sorted({p.parent for p in tree.rglob("*.tf") if ".terraform" not in p.parts})


def tfvars_roots(tree: Path = TERRAFORM) -> dict[Path, Path]:
    """tfvars file -> the root module it configures (environments/ configure the tree's root)."""
    found = {}
    for path in sorted([*tree.rglob("*.tfvars"), *tree.rglob("*.tfvars.example")]):
        found[path] = tree if path.parent.name == "environments" else path.parent
    return found


def check_tree(tree: Path = TERRAFORM, schema: dict | None = None) -> list[Problem]:
    checker = Checker(schema)
    for directory in module_dirs(tree):
        checker.check_module(directory)
    for tfvars, root in tfvars_roots(tree).items():
        checker.check_tfvars(checker.module(root), tfvars)
    return sorted(set(checker.problems), key=str)


def main(argv: list[str]) -> int:
    tree = Path(argv[0]) if argv else TERRAFORM
    problems = check_tree(tree)
    for problem in problems:
        print(problem)
    files = sum(1 for _ in tree.rglob("*.tf"))
    print(
        f"{files} .tf files in {len(module_dirs(tree))} modules checked against {tfschema.PACKAGE}@"
        f"{tfschema.PACKAGE_VERSION} (google {tfschema.PROVIDER_VERSION}): {len(problems)} problem(s)",
        file=sys.stderr,
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
