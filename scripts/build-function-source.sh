#!/usr/bin/env bash
# Build the Cloud Functions source archive Terraform uploads (var.function_source_archive):
#   main.py (functions/main.py at the archive root, as the Python runtime expects), the
#   abbanoa package, sql/ migrations and requirements.txt: the runtime requirements
#   (requirements.txt) but the dashboard's (streamlit, plotly: no function imports
#   them), and every package they pull in, each pinned to
#   the version constraints.txt resolved. No test, lint or fuzzing tool
#   (requirements-dev.txt) and nothing else of constraints.txt goes in (tests/infra).
# Usage: scripts/build-function-source.sh [OUT]   (default dist/functions-source.zip)
# Needs the development environment (`make install`): the dependency closure is read from
# the installed packages' metadata. Deterministic (sorted entries, fixed timestamps): the
# same tree gives the same hash, so `terraform apply` rolls the functions only when the
# code or the pins changed.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-dist/functions-source.zip}
PYTHON=${PYTHON:-.venv/bin/python}
mkdir -p "$(dirname "$OUT")"
"$PYTHON" - "$OUT" <<'PY'
import importlib.metadata as md
import pathlib
import re
import sys
import zipfile

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

out = pathlib.Path(sys.argv[1])
files = {"main.py": pathlib.Path("functions/main.py")}
for root in ("abbanoa", "sql"):
    for path in sorted(pathlib.Path(root).rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            files[path.as_posix()] = path

pins = {}
for line in pathlib.Path("constraints.txt").read_text().splitlines():
    if "==" in line and not line.startswith("#"):
        name, version = line.split("==", 1)
        pins[canonicalize_name(name)] = version.strip()
# the dashboard's stack: no function imports it (checked below)
NOT_IN_FUNCTIONS = {"streamlit": "streamlit", "plotly": "plotly"}
imported = set()
for name, path in files.items():
    if name.endswith(".py"):
        imported |= set(re.findall(r"^\s*(?:import|from)\s+([A-Za-z_]\w*)", path.read_text(), re.M))
if clash := sorted(m for m in NOT_IN_FUNCTIONS.values() if m in imported):
    sys.exit(f"the function source imports {', '.join(clash)}: drop it from NOT_IN_FUNCTIONS")
top = [
    Requirement(line.split("#", 1)[0].strip())
    for line in pathlib.Path("requirements.txt").read_text().splitlines()
    if line.strip() and not line.lstrip().startswith(("#", "-"))
]
top = [r for r in top if canonicalize_name(r.name) not in NOT_IN_FUNCTIONS]
# the runtime closure: the requirements, then what each installed package requires (markers
# evaluated for this interpreter, the functions' python311 on Linux; extras as requested)
closure, todo = {}, [(r, frozenset(r.extras)) for r in top]
while todo:
    req, extras = todo.pop()
    name = canonicalize_name(req.name)
    if name in closure and extras <= closure[name]:
        continue
    closure[name] = closure.get(name, frozenset()) | extras
    try:
        requires = md.requires(req.name) or []
    except md.PackageNotFoundError:
        sys.exit(f"{req.name} is not installed here: run `make install` first (the closure is read from it)")
    for dep in requires:
        dep = Requirement(dep)
        envs = [{"extra": e} for e in closure[name]] or [{"extra": ""}]
        if dep.marker is None or any(dep.marker.evaluate(env) for env in envs):
            todo.append((dep, frozenset(dep.extras)))
missing = sorted(n for n in closure if n not in pins)
if missing:
    sys.exit(f"not pinned in constraints.txt: {', '.join(missing)}")
requirements = "".join(f"{name}=={pins[name]}\n" for name in sorted(closure))
header = "# runtime dependencies and their closure, pinned (scripts/build-function-source.sh)\n"
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
    entries = {name: files[name].read_bytes() for name in files}
    entries["requirements.txt"] = (header + requirements).encode()
    for name in sorted(entries):
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        archive.writestr(info, entries[name], zipfile.ZIP_DEFLATED)
print(f"{out}: {len(entries)} files, {len(closure)} pinned requirements")
PY
