"""Static reading of terraform/ for the infrastructure tests: python-hcl2 parses each file,
and a few helpers resolve the expressions our modules use (each.key, each.value.x,
try(each.value.x, default)) against the manifest, the way Terraform expands a for_each."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import hcl2

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "terraform"
MODULES = TERRAFORM / "modules"
OPTIONS = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False)


def tf_files() -> list[Path]:
    return sorted(p for p in TERRAFORM.rglob("*.tf") if ".terraform" not in p.parts)


@cache
def parse(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return hcl2.load(handle, serialization_options=OPTIONS)


def module_dir(directory: Path) -> dict[str, list]:
    """Every top-level block kind of a module directory, merged over its .tf files."""
    merged: dict[str, list] = {}
    for path in sorted(directory.glob("*.tf")):
        for kind, blocks in parse(path).items():
            if kind.startswith("__"):
                continue
            merged.setdefault(kind, []).extend(blocks if isinstance(blocks, list) else [blocks])
    return merged


def locals_of(directory: Path) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for block in module_dir(directory).get("locals", []):
        values.update(block)
    return values


def named(blocks: list[dict], name: str) -> dict | None:
    for block in blocks:
        if name in block:
            return block[name]
    return None


def module_calls(directory: Path = TERRAFORM) -> dict[str, dict]:
    calls: dict[str, dict] = {}
    for block in module_dir(directory).get("module", []):
        calls.update(block)
    return calls


def resources(directory: Path) -> dict[tuple[str, str], dict]:
    """(type, name) -> resource body."""
    found: dict[tuple[str, str], dict] = {}
    for block in module_dir(directory).get("resource", []):
        for rtype, by_name in block.items():
            for name, body in by_name.items():
                found[(rtype, name)] = body
    return found


_EACH_VALUE = re.compile(r"^\$\{each\.value\.([\w.]+)\}$")
_TRY_EACH_VALUE = re.compile(r"^\$\{try\(each\.value\.([\w.]+), (.+)\)\}$")


def _dig(mapping: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        mapping = mapping[part]
    return mapping


def resolve_each(expression: Any, key: str, value: dict) -> Any:
    """Value of a module argument for one for_each instance; anything else is returned as is."""
    if not isinstance(expression, str):
        return expression
    if expression == "${each.key}":
        return key
    if match := _EACH_VALUE.match(expression):
        return _dig(value, match.group(1))
    if match := _TRY_EACH_VALUE.match(expression):
        try:
            return _dig(value, match.group(1))
        except (KeyError, TypeError):
            default = match.group(2)
            return None if default == "null" else int(default) if default.isdigit() else default.strip('"')
    return expression


def file_reference(expression: str, directory: Path, locals_: dict[str, Any]) -> Path:
    """The file a `file("${path.module}/...")` / `file("${local.x}/...")` expression reads."""
    match = re.search(r'file\("(.+?)"\)', expression)
    assert match, f"not a file() expression: {expression}"
    text = match.group(1)
    while (inner := re.search(r"\$\{local\.(\w+)\}", text)) is not None:
        text = text.replace(inner.group(0), locals_[inner.group(1)])
    return (directory / text.replace("${path.module}", ".")).resolve()
