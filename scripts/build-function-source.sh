#!/usr/bin/env bash
# Build the Cloud Functions source archive Terraform uploads (var.function_source_archive):
#   main.py (functions/main.py at the archive root, as the Python runtime expects),
#   the abbanoa package, sql/ migrations and requirements.txt (+ constraints).
# Usage: scripts/build-function-source.sh [OUT]   (default dist/functions-source.zip)
# Deterministic (sorted entries, fixed timestamps): the same tree gives the same hash, so
# `terraform apply` rolls the functions only when the code changed.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-dist/functions-source.zip}
mkdir -p "$(dirname "$OUT")"
python3 - "$OUT" <<'PY'
import pathlib, sys, zipfile

out = pathlib.Path(sys.argv[1])
files = {"main.py": pathlib.Path("functions/main.py")}
for root in ("abbanoa", "sql"):
    for path in sorted(pathlib.Path(root).rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            files[path.as_posix()] = path
# Cloud Build installs requirements.txt; the constraints pin the transitive versions too.
pins = pathlib.Path("requirements.txt").read_text() + "\n# constraints\n"
pins += "\n".join(line for line in pathlib.Path("constraints.txt").read_text().splitlines() if line and not line.startswith("#"))
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
    for name in sorted(files):
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        archive.writestr(info, files[name].read_bytes(), zipfile.ZIP_DEFLATED)
    info = zipfile.ZipInfo("requirements.txt", date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = 0o644 << 16
    archive.writestr(info, pins)
print(f"{out}: {len(files) + 1} files")
PY
