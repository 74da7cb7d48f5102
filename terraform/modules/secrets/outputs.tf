output "secret_ids" {
  description = "Short name (database-url, redis-url, jwt-secret, metrics-token, redis-ca, sql-ca) -> secret id."
  value       = { for name, secret in google_secret_manager_secret.secret : name => secret.secret_id }
}
