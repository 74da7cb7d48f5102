"""checkov (its own virtual environment, .venv-checkov: `make checkov-venv`) finds nothing
in terraform/ and the Dockerfiles, except checks skipped inline with a reason."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKOV = Path(os.environ.get("CHECKOV_VENV", ROOT / ".venv-checkov")) / "bin" / "checkov"
DOCKERFILES = ["Dockerfile", "local/bqemulator/Dockerfile"]
SKIP = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")


def _scan(*args: str) -> dict:
    result = subprocess.run(
        [str(CHECKOV), *args, "--skip-download", "-o", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.stdout.strip(), f"checkov printed nothing (exit {result.returncode}): {result.stderr[-2000:]}"
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    assert len(reports) == 1, [r.get("check_type") for r in reports]
    return reports[0]


@pytest.fixture(scope="module")
def reports() -> dict[str, dict]:
    assert CHECKOV.exists(), f"{CHECKOV} is missing: run `make checkov-venv` (scripts/checkov-venv.sh)"
    return {
        "terraform": _scan("-d", "terraform", "--framework", "terraform"),
        "dockerfile": _scan(*[a for f in DOCKERFILES for a in ("-f", f)], "--framework", "dockerfile"),
    }


def test_checkov_finds_no_failed_check_in_terraform_and_the_dockerfiles(reports):
    for kind, report in reports.items():
        summary = report["summary"]
        failed = [
            f"{c['check_id']} {c['resource']} ({c['file_path']})"
            for c in report.get("results", {}).get("failed_checks", [])
        ]
        assert summary["failed"] == 0, f"{kind}: {failed}"
        assert summary["parsing_errors"] == 0, kind
        assert summary["passed"] > 0 and summary["resource_count"] > 0, f"{kind}: checkov scanned nothing"


def test_every_skipped_check_is_justified_inline_and_no_skip_is_stale(reports):
    comments = {}
    for path in [*(ROOT / "terraform").rglob("*.tf"), *(ROOT / f for f in DOCKERFILES)]:
        for line in path.read_text().splitlines():
            if match := SKIP.search(line):
                check, reason = match.group(1), (match.group(2) or "").strip()
                assert len(reason) >= 30, f"{path}: skip of {check} without a real reason: {reason!r}"
                comments.setdefault(check, []).append(path)
    skipped = {
        c["check_id"] for report in reports.values() for c in report.get("results", {}).get("skipped_checks", [])
    }
    assert skipped <= set(comments), f"skipped without an inline comment: {skipped - set(comments)}"
    assert set(comments) <= skipped, f"stale skip comments (the check no longer applies): {set(comments) - skipped}"
