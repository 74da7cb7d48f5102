output "host" {
  description = "Private IP of the instance."
  value       = google_redis_instance.cache.host
}

output "port" {
  description = "TLS port of the instance."
  value       = google_redis_instance.cache.port
}

output "redis_url" {
  description = "rediss:// URL with the AUTH string, verifying the server against the mounted CA (goes into Secret Manager)."
  value       = "rediss://:${google_redis_instance.cache.auth_string}@${google_redis_instance.cache.host}:${google_redis_instance.cache.port}/0?ssl_ca_certs=/secrets/redis-ca/server-ca.pem"
  sensitive   = true
}

output "server_ca_pem" {
  description = "PEM of the server CA the clients verify the TLS connection against."
  value       = google_redis_instance.cache.server_ca_certs[0].cert
}
