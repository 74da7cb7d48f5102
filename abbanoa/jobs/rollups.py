"""The rollups' SQL lives in abbanoa/repository/rollups.py; this name is kept for the
jobs and tests that import `abbanoa.jobs.rollups`."""

from abbanoa.repository.rollups import create_touched, maintained_by_database, refresh

__all__ = ["create_touched", "maintained_by_database", "refresh"]
