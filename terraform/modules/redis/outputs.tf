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
  description = "PEM bundle of every server CA of the instance (during a CA rotation there are two): the clients verify the TLS connection against any of them."
  value       = join("\n", [for ca in google_redis_instance.cache.server_ca_certs : trimspace(ca.cert)])
}
