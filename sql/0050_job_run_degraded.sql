-- Run discipline (issue 21): a run that ran but could not do its work (e.g. cache_refresh
-- with Redis down) is recorded `degraded`, not `succeeded`. The job lock is now a session
-- advisory lock (abbanoa/repository/job_runs.py); lease_expires_at is no longer written.
ALTER TABLE job_runs DROP CONSTRAINT IF EXISTS job_runs_status_check;
ALTER TABLE job_runs ADD CONSTRAINT job_runs_status_check
    CHECK (status IN ('running', 'succeeded', 'failed', 'skipped', 'degraded'));
