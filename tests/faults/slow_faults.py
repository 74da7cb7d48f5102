"""The slow part of the fault suite, run by bench/faults/run_faults.py (not collected by
the suite: the file name does not start with test_)."""

from __future__ import annotations

import pytest

from . import test_bigquery_down as bigquery_down
from . import test_kill as kill

SLOW_STAGES = [
    ("realtime_sync", "realtime_sync:gathered"),
    ("realtime_sync", "realtime_sync:before_commit"),
    ("etl_init", "etl_init:day_before_commit"),
]


@pytest.mark.parametrize("job, stage", SLOW_STAGES)
def test_killed_at_the_other_stages(jobs_settings, registry, job, stage):
    kill.test_a_job_killed_at_a_stage_is_recovered_by_the_next_run(jobs_settings, registry, job, stage)


def test_check_and_import_against_a_hung_bigquery(database, stub_bigquery, tmp_path):
    bigquery_down.test_check_and_import_report_a_failing_or_hung_bigquery_in_one_line_within_30_s(
        database, stub_bigquery, tmp_path, "hang"
    )
