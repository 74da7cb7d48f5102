# Cloud Scheduler: one job per scheduled entry of abbanoa/jobs/schedule.yaml, publishing to
# the job's topic (whatever consumes it: an event-driven function or a long job's
# workflow). Created paused until var.enabled: on a new project the schema and history
# exist only once etl_init has run (terraform/README.md, first apply).

resource "google_cloud_scheduler_job" "job" {
  for_each    = var.jobs
  project     = var.project_id
  region      = var.region
  name        = "${var.name_prefix}-${replace(each.key, "_", "-")}"
  description = each.value.description
  schedule    = each.value.cron
  time_zone   = var.time_zone
  paused      = !var.enabled

  # publishing is what is retried here; the run's own retries belong to its subscriber
  retry_config {
    retry_count          = 3
    min_backoff_duration = "10s"
    max_backoff_duration = "60s"
  }

  pubsub_target {
    topic_name = each.value.topic_id
    data       = base64encode(jsonencode({ job = each.key, trigger = "scheduler" }))
    attributes = { job = each.key }
  }
}
