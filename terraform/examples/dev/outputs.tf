output "api_url" {
  description = "Public URL of the API."
  value       = module.platform.api_url
}

output "dashboard_url" {
  description = "Public URL of the dashboard."
  value       = module.platform.dashboard_url
}

output "job_triggers" {
  description = "How each job runs and its Cloud Scheduler job."
  value       = module.platform.job_triggers
}
