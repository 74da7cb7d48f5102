#!/usr/bin/env bash
# Create .venv-checkov with the pinned checkov (requirements-checkov.txt); idempotent.
#   scripts/checkov-venv.sh            -> .venv-checkov/bin/checkov
# Override the location with CHECKOV_VENV. Takes a few minutes the first time.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${CHECKOV_VENV:-.venv-checkov}
PYTHON=${PYTHON:-python3}
if [ -x "$VENV/bin/checkov" ] && [ ! requirements-checkov.txt -nt "$VENV/.stamp" ]; then
  exit 0
fi
echo "installing checkov into $VENV ..."
"$PYTHON" -m venv "$VENV"
# pip notes about this machine's optional local package mirrors are noise
"$VENV/bin/pip" install -q --disable-pip-version-check -r requirements-checkov.txt 2>&1 | { grep -v "WARNING: Location" || true; }
touch "$VENV/.stamp"
