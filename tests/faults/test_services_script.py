"""local/services.sh judges a service by a real request, not an open port: a BigQuery
emulator that keeps its port but answers 500 is reported as not answering."""

from __future__ import annotations

import os
import subprocess
from urllib.parse import urlsplit

from ..conftest import REPO_ROOT


def test_status_reports_an_open_port_that_answers_500_as_not_answering(stub_bigquery):
    stub = stub_bigquery("500")
    port = urlsplit(stub.url).port

    done = subprocess.run(
        ["bash", "local/services.sh", "status"],
        cwd=REPO_ROOT,
        env={**os.environ, "BQ_PORT": str(port)},
        capture_output=True,
        text=True,
        timeout=60,
    )

    lines = {line.split()[0]: line for line in done.stdout.splitlines()}
    assert "NOT ANSWERING" in lines["bigquery"], done.stdout
    assert "up (answers)" in lines["redis"]
    assert stub.requests >= 1
