output "network_id" {
  description = "Id of the VPC."
  value       = google_compute_network.vpc.id
}

output "network_name" {
  description = "Name of the VPC."
  value       = google_compute_network.vpc.name
}

output "vpc_connector_id" {
  description = "Id of the serverless VPC access connector."
  value       = google_vpc_access_connector.serverless.id
}

output "private_services_connection" {
  description = "The private services access peering (Cloud SQL and Memorystore depend on it)."
  value       = google_service_networking_connection.private_services.id
}
