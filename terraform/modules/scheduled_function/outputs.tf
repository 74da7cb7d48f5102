output "function_name" {
  description = "Name of the Cloud Function."
  value       = google_cloudfunctions2_function.function.name
}

output "function_uri" {
  description = "HTTPS endpoint of the function (HTTP-triggered jobs: POST to run now)."
  value       = google_cloudfunctions2_function.function.service_config[0].uri
}

output "service_name" {
  description = "Cloud Run service behind the function (monitoring filters on it)."
  value       = google_cloudfunctions2_function.function.service_config[0].service
}

output "scheduler_job" {
  description = "Cloud Scheduler job name, null for on-demand jobs."
  value       = try(google_cloud_scheduler_job.job[0].name, null)
}

output "trigger" {
  description = "event_driven (Pub/Sub event trigger) or http (Scheduler calls it directly)."
  value       = local.event_driven ? "pubsub" : "http"
}
