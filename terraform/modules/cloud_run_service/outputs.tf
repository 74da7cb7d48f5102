output "uri" {
  description = "Public HTTPS URL of the service."
  value       = google_cloud_run_v2_service.service.uri
}

output "name" {
  description = "Service name."
  value       = google_cloud_run_v2_service.service.name
}
