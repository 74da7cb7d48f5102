output "private_ip" {
  description = "Private IP of the instance."
  value       = google_sql_database_instance.main.private_ip_address
}

output "connection_name" {
  description = "project:region:instance."
  value       = google_sql_database_instance.main.connection_name
}

output "database_url" {
  description = "SQLAlchemy URL of the application database (goes into Secret Manager)."
  value       = "postgresql+pg8000://${google_sql_user.app.name}:${random_password.app.result}@${google_sql_database_instance.main.private_ip_address}:5432/${google_sql_database.app.name}"
  sensitive   = true
}
