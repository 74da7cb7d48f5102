output "api_url" {
  description = "Public URL of the API."
  value       = module.api.uri
}

output "dashboard_url" {
  description = "Public URL of the dashboard."
  value       = module.dashboard.uri
}

output "job_function_urls" {
  description = "Job name -> function URL (HTTP-triggered jobs accept POST to run now)."
  value       = { for name, job in module.job : name => job.function_uri }
}

output "job_triggers" {
  description = "Job name -> pubsub or http, and its Cloud Scheduler job (null: on demand)."
  value       = { for name, job in module.job : name => { trigger = job.trigger, scheduler_job = job.scheduler_job } }
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
