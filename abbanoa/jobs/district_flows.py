"""The district meters' gather lives in abbanoa/repository/district_flows.py; this name
is kept for the jobs that import `abbanoa.jobs.district_flows`."""

from abbanoa.repository.district_flows import meter_hours

__all__ = ["meter_hours"]
