"""Scheduled jobs. The schedule is schedule.yaml (one source for Terraform and the local
scheduler); each job is a function `run(ctx: JobContext) -> JobOutcome` named there."""
