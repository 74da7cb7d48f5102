# Alert policies (job failures, long-job failures, API 5xx rate, stale data, uptime) and
# uptime checks. Functions (2nd gen) run on Cloud Run: a failed job answers 5xx to its
# trigger, so the Cloud Run request metrics of the function services measure job failures;
# Cloud Run's resource.labels.service_name is the service's short name (the function's
# name), never the projects/.../services/NAME path. A long job's last failed attempt fails
# its workflow execution.

resource "google_monitoring_notification_channel" "email" {
  for_each     = toset(var.notification_emails)
  project      = var.project_id
  display_name = "${var.name_prefix} on-call ${each.value}"
  type         = "email"
  labels = {
    email_address = each.value
  }
}

locals {
  channels     = [for channel in google_monitoring_notification_channel.email : channel.id]
  job_services = "resource.labels.service_name = one_of(${join(", ", [for service in values(var.job_services) : "\"${service}\""])})"
  workflows    = "resource.labels.workflow_id = one_of(${join(", ", [for workflow in values(var.long_job_workflows) : "\"${workflow}\""])})"
}

resource "google_monitoring_alert_policy" "job_failures" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: job failures"
  combiner              = "OR"
  notification_channels = local.channels

  conditions {
    display_name = "a job function answered 5xx"
    condition_threshold {
      filter          = "metric.type = \"run.googleapis.com/request_count\" AND resource.type = \"cloud_run_revision\" AND metric.labels.response_code_class = \"5xx\" AND ${local.job_services}"
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.labels.service_name"]
      }
    }
  }

  documentation {
    content   = "A job failed. Its run is in job_runs (status failed, error); Pub/Sub retries with backoff and dead-letters after the manifest's max_attempts (<topic>-dead-letter subscription)."
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "long_job_failures" {
  count                 = length(var.long_job_workflows) > 0 ? 1 : 0
  project               = var.project_id
  display_name          = "${var.name_prefix}: long job failures"
  combiner              = "OR"
  notification_channels = local.channels

  conditions {
    display_name = "a long job failed its last attempt (message dead-lettered)"
    condition_threshold {
      filter          = "metric.type = \"workflows.googleapis.com/finished_execution_count\" AND resource.type = \"workflows.googleapis.com/Workflow\" AND metric.labels.status = \"FAILED\" AND ${local.workflows}"
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.labels.workflow_id"]
      }
    }
  }

  documentation {
    content   = "A long job (Cloud Run job) failed every attempt. Its runs are in job_runs and in the Cloud Run job's executions; the trigger message is in the <topic>-dead-letter subscription."
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "api_5xx" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: API 5xx rate"
  combiner              = "OR"
  notification_channels = local.channels

  conditions {
    display_name = "API 5xx above ${var.api_5xx_ratio * 100}% of requests"
    condition_threshold {
      filter             = "metric.type = \"run.googleapis.com/request_count\" AND resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${var.api_service}\" AND metric.labels.response_code_class = \"5xx\""
      denominator_filter = "metric.type = \"run.googleapis.com/request_count\" AND resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${var.api_service}\""
      comparison         = "COMPARISON_GT"
      threshold_value    = var.api_5xx_ratio
      duration           = "300s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
      }
      denominator_aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }
}

resource "google_monitoring_alert_policy" "stale_data" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: stale data"
  combiner              = "OR"
  notification_channels = local.channels

  conditions {
    display_name = "no successful realtime sync for ${var.stale_after_s} s"
    condition_absent {
      filter   = "metric.type = \"run.googleapis.com/request_count\" AND resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${var.freshness_service}\" AND metric.labels.response_code_class = \"2xx\""
      duration = "${var.stale_after_s}s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  documentation {
    content   = "Readings stop reaching PostgreSQL: the dashboard shows stale values. Check the runs of the freshness job (${var.freshness_service}) in job_runs and its dead-letter subscription."
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_uptime_check_config" "check" {
  for_each = {
    api       = { host = var.api_host, path = var.api_health_path }
    dashboard = { host = var.dashboard_host, path = var.dashboard_health_path }
  }
  project      = var.project_id
  display_name = "${var.name_prefix} ${each.key}"
  timeout      = "10s"
  period       = "300s"

  http_check {
    path         = each.value.path
    port         = 443
    use_ssl      = true
    validate_ssl = true
  }

  monitored_resource {
    type = "uptime_url"
    labels = {
      project_id = var.project_id
      host       = each.value.host
    }
  }
}

resource "google_monitoring_alert_policy" "uptime" {
  for_each              = google_monitoring_uptime_check_config.check
  project               = var.project_id
  display_name          = "${var.name_prefix}: ${each.key} down"
  combiner              = "OR"
  notification_channels = local.channels

  conditions {
    display_name = "${each.key} uptime check failing"
    condition_threshold {
      filter          = "metric.type = \"monitoring.googleapis.com/uptime_check/check_passed\" AND resource.type = \"uptime_url\" AND metric.labels.check_id = \"${each.value.uptime_check_id}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 1
      duration        = "600s"
      aggregations {
        alignment_period     = "1200s"
        per_series_aligner   = "ALIGN_NEXT_OLDER"
        cross_series_reducer = "REDUCE_COUNT_FALSE"
        group_by_fields      = ["resource.labels.host"]
      }
    }
  }
}
