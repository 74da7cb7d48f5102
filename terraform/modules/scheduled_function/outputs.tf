output "function_name" {
  description = "Name of the Cloud Function (also the name of the Cloud Run service behind it)."
  value       = google_cloudfunctions2_function.function.name
}

output "service_name" {
  description = "Short name of the Cloud Run service behind the function: the resource.labels.service_name monitoring filters on (service_config[0].service is the full projects/.../services/NAME path)."
  value       = element(split("/", google_cloudfunctions2_function.function.service_config[0].service), length(split("/", google_cloudfunctions2_function.function.service_config[0].service)) - 1)
}

output "trigger" {
  description = "How the job runs: pubsub (event-driven function)."
  value       = "pubsub"
}
