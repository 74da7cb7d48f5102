"""Static reading of terraform/ for the infrastructure tests: python-hcl2 parses each file
into plain dicts (literal values; what expressions evaluate to is tests/infra/tfeval.py's)."""

from __future__ import annotations

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


def resources(directory: Path) -> dict[tuple[str, str], dict]:
    """(type, name) -> resource body."""
    found: dict[tuple[str, str], dict] = {}
    for block in module_dir(directory).get("resource", []):
        for rtype, by_name in block.items():
            for name, body in by_name.items():
                found[(rtype, name)] = body
    return found
