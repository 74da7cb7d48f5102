"""The layer rules of docs/ARCHITECTURE.md, checked on the source: what each part of the code
may import, and the few shapes the layout promises.

Every `import` and `from ... import` is read from the source (deferred imports inside
functions included), so a circle hidden behind a function-level import is caught too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("abbanoa", "api", "dashboard", "functions")

FOUNDATION = ("abbanoa.errors", "abbanoa.metrics", "abbanoa.settings")

DATA_ACCESS = (
    *FOUNDATION,
    "abbanoa.repository",
    "abbanoa.summary",
    "abbanoa.stores",
    "abbanoa.analytics",
    "abbanoa.auth",
)

# layer (module prefix) -> prefixes it may import from the project; the first matching
# (longest) prefix decides, so `abbanoa.ingest.formats` can be stricter than `abbanoa.ingest`
RULES: dict[str, tuple[str, ...]] = {
    # the foundation imports only itself
    "abbanoa.errors": (),
    "abbanoa.metrics": ("abbanoa.errors",),
    "abbanoa.settings": ("abbanoa.errors", "abbanoa.metrics"),
    # the domain core: pure functions on data, no I/O
    "abbanoa.analytics": (*FOUNDATION, "abbanoa.analytics"),
    "abbanoa.auth": (*FOUNDATION, "abbanoa.auth", "abbanoa.stores"),
    # the user behind a token, looked up as every data path checks it
    "abbanoa.auth.users": (*DATA_ACCESS,),
    # one adapter per store; they know nothing of the domain
    "abbanoa.stores": (*FOUNDATION, "abbanoa.stores"),
    # the import contract (file formats) is shared by the importer and the simulator
    "abbanoa.ingest.formats": (*FOUNDATION,),
    "abbanoa.simulate": (*FOUNDATION, "abbanoa.simulate", "abbanoa.analytics", "abbanoa.ingest.formats"),
    "abbanoa.reports": (*FOUNDATION, "abbanoa.reports", "abbanoa.analytics"),
    # data access: SQL behind functions, used by jobs, the API and the dashboard
    "abbanoa.repository": (*DATA_ACCESS,),
    "abbanoa.summary": (*DATA_ACCESS,),
}
# the services layer and the drivers may use the whole package, never an edge
SERVICES = ("abbanoa",)
EDGES = {
    "api": ("abbanoa", "api"),
    "dashboard": ("abbanoa", "dashboard"),
    "functions": ("abbanoa", "functions"),
}
# the application factory is the API's entry point: only the package itself re-exports it
# (tests and benchmarks build the app through `api.create_app` too)
APP_MODULE = "api.app"
APP_IMPORTERS = {"api"}
ALSO_SCANNED = ("tests", "bench")  # for api.app only


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, module: str, root: Path) -> list[tuple[int, str]]:
    """(line, imported module) for each import; `from pkg import name` counts as pkg.name
    when that is a module of the project (`from api import app` imports api.app)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                is_module = root.joinpath(*sub.split(".")).with_suffix(".py").exists() or (
                    root.joinpath(*sub.split("."), "__init__.py").exists()
                )
                found.append((node.lineno, sub if is_module else target))
    return sorted(set(found))


def _project(name: str) -> bool:
    return name.split(".")[0] in PACKAGES


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _allowed(module: str) -> tuple[str, ...]:
    layer = max((p for p in RULES if _within(module, (p,))), key=len, default=None)
    if layer is not None:
        return RULES[layer]
    top = module.split(".")[0]
    return EDGES.get(top, SERVICES)


def _python_files(root: Path, folders: tuple[str, ...]) -> list[Path]:
    return [p for folder in folders if (root / folder).is_dir() for p in sorted((root / folder).rglob("*.py"))]


def violations(root: Path = ROOT) -> list[str]:
    found = []
    for path in _python_files(root, PACKAGES + ALSO_SCANNED):
        module = _module_name(path, root)
        layered = module.split(".")[0] in PACKAGES
        allowed = _allowed(module)
        for line, name in _imports(path, module, root):
            if not _project(name) or _within(name, (module,)):
                continue
            where = f"{path.relative_to(root)}:{line}"
            if name == APP_MODULE and module not in APP_IMPORTERS:
                found.append(f"{where} imports {APP_MODULE} (only the api package may)")
            elif layered and not _within(name, allowed):
                found.append(f"{where}: {module} imports {name}")
    return found


def test_every_module_keeps_to_its_layer():
    assert violations() == []


@pytest.mark.parametrize(
    ("path", "source", "expected"),
    [
        ("abbanoa/analytics/bad.py", "def f():\n    from abbanoa.stores import postgres\n", "imports abbanoa.stores"),
        ("abbanoa/analytics/bad.py", "from abbanoa.jobs.anomaly_detection import decide\n", "imports abbanoa.jobs"),
        ("api/views/bad.py", "from api.app import count_cache\n", "imports api.app"),
        ("api/views/bad.py", "from api import app\n", "imports api.app"),
        ("abbanoa/stores/bad.py", "from ..analytics import kpi\n", "imports abbanoa.analytics"),
        ("dashboard/bad.py", "import api.routes\n", "imports api.routes"),
        ("tests/test_bad.py", "from api.app import create_app\n", "imports api.app"),
    ],
)
def test_the_rule_catches_a_module_that_breaks_it(tmp_path, path, source, expected):
    for package in PACKAGES:
        (tmp_path / package).mkdir()
    (tmp_path / "api" / "app.py").write_text("def create_app():\n    pass\n")
    target = tmp_path / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(source)
    found = violations(tmp_path)
    assert len(found) == 1 and expected in found[0], found


def test_the_rule_lets_a_module_import_what_its_layer_may(tmp_path):
    for package in PACKAGES:
        (tmp_path / package).mkdir()
    good = {
        "abbanoa/analytics/good.py": "from abbanoa.metrics import METRICS\nfrom abbanoa.analytics import kpi\n",
        "abbanoa/jobs/good.py": "from abbanoa.stores import postgres\nfrom abbanoa.analytics import kpi\n",
        "api/views/good.py": "from abbanoa.repository import nodes\nfrom api.caching import count_cache\n",
        "api/__init__.py": "from api.app import create_app\n",
    }
    for path, source in good.items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source)
    assert violations(tmp_path) == []


def test_the_repository_layer_parses_no_http_parameters():
    common = _imports(ROOT / "abbanoa" / "repository" / "common.py", "abbanoa.repository.common", ROOT)
    source = (ROOT / "abbanoa" / "repository" / "common.py").read_text()
    assert not any(name.startswith(("flask", "api")) for _, name in common)
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
        for p in _python_files(ROOT, PACKAGES)
        if p != ROOT / "abbanoa" / "auth" / "__init__.py" and pattern.search(p.read_text())
    ]
    assert offenders == []


def test_jobs_hold_no_sql_of_their_own():
    """A job gathers, decides and applies through repository functions: no inline SQL text."""
    offenders = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in sorted((ROOT / "abbanoa" / "jobs").glob("*.py"))
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if "sa.text(" in line or "exec_driver_sql(" in line
    ]
    assert offenders == []
