"""The import rules of the layers (docs/ARCHITECTURE.md): checked on the source, not by convention."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _python_files(*folders: str) -> list[Path]:
    return [p for folder in folders for p in (ROOT / folder).rglob("*.py")]


def test_no_module_imports_the_api_app_module_but_the_package_entry():
    offenders = [
        str(p.relative_to(ROOT))
        for p in _python_files("abbanoa", "api", "dashboard", "functions", "tests", "bench")
        if p != ROOT / "api" / "__init__.py" and "api.app" in _imports(p)
    ]
    assert offenders == []


def test_the_repository_layer_parses_no_http_parameters():
    common = _imports(ROOT / "abbanoa" / "repository" / "common.py")
    source = (ROOT / "abbanoa" / "repository" / "common.py").read_text()
    assert not any(name.startswith(("flask", "api")) for name in common)
    assert "def parse_" not in source


def test_create_app_reads_in_one_screen():
    tree = ast.parse((ROOT / "api" / "app.py").read_text())
    (factory,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "create_app"]
    assert factory.end_lineno - factory.lineno + 1 < 40


def test_roles_are_defined_once_in_abbanoa_auth():
    import re

    pattern = re.compile(r"""["']viewer["']\s*,\s*["']operator["']\s*,\s*["']admin["']""")
    offenders = [
        str(p.relative_to(ROOT))
        for p in _python_files("abbanoa", "api", "dashboard", "functions")
        if p != ROOT / "abbanoa" / "auth" / "__init__.py" and pattern.search(p.read_text())
    ]
    assert offenders == []
