output "private_ip" {
  description = "Private IP of the instance."
  value       = google_sql_database_instance.main.private_ip_address
}

output "connection_name" {
  description = "project:region:instance."
  value       = google_sql_database_instance.main.connection_name
}

output "database_url" {
  description = "SQLAlchemy URL of the application database (goes into Secret Manager): TLS, the server verified against its CA file mounted at /secrets/sql-ca/server-ca.pem (server_ca_pem)."
  value       = "postgresql+pg8000://${google_sql_user.app.name}:${random_password.app.result}@${google_sql_database_instance.main.private_ip_address}:5432/${google_sql_database.app.name}?sslmode=verify-ca&sslrootcert=/secrets/sql-ca/server-ca.pem"
  sensitive   = true
}

output "server_ca_pem" {
  description = "The instance's server CA certificate, mounted for the app to verify the server."
  value       = google_sql_database_instance.main.server_ca_cert[0].cert
}
