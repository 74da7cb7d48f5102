output "api_url" {
  description = "Public URL of the API."
  value       = module.api.uri
}

output "dashboard_url" {
  description = "Public URL of the dashboard."
  value       = module.dashboard.uri
}

output "job_triggers" {
  description = "Job name -> pubsub (event-driven function) or run_job (Cloud Run job behind a workflow), and its Cloud Scheduler job (null: on demand)."
  value = merge(
    { for name, job in module.job : name => { trigger = job.trigger, scheduler_job = lookup(module.scheduler.scheduler_jobs, name, null) } },
    { for name, job in module.long_job : name => { trigger = job.trigger, scheduler_job = lookup(module.scheduler.scheduler_jobs, name, null), run_job = job.run_job_name } },
  )
}

output "schedules_enabled" {
  description = "false: the Cloud Scheduler jobs are paused (bootstrap not finished)."
  value       = var.schedules_enabled
}

output "image_repository" {
  description = "Where to push the API, dashboard and function images."
  value       = module.artifact_registry.repository_url
}

output "database_connection_name" {
  description = "Cloud SQL connection name (for the Cloud SQL Auth Proxy)."
  value       = module.database.connection_name
}

output "warehouse_dataset" {
  description = "BigQuery dataset of the warehouse."
  value       = module.bigquery.dataset_id
}

output "function_source_bucket" {
  description = "Bucket holding the function source archives."
  value       = google_storage_bucket.function_source.name
}
