output "alert_policy_ids" {
  description = "Alert policy names -> ids."
  value = merge(
    {
      job_failures = google_monitoring_alert_policy.job_failures.id
      api_5xx      = google_monitoring_alert_policy.api_5xx.id
      stale_data   = google_monitoring_alert_policy.stale_data.id
    },
    { for policy in google_monitoring_alert_policy.long_job_failures : "long_job_failures" => policy.id },
    { for name, policy in google_monitoring_alert_policy.uptime : "uptime_${name}" => policy.id },
  )
}

output "uptime_check_ids" {
  description = "Uptime check ids for the API and the dashboard."
  value       = { for name, check in google_monitoring_uptime_check_config.check : name => check.uptime_check_id }
}
