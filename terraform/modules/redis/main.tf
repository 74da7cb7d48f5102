# Memorystore for Redis: the cache (never the only copy). AUTH and in-transit encryption on;
# reached over private services access only.

resource "google_redis_instance" "cache" {
  project                 = var.project_id
  name                    = "${var.name_prefix}-redis"
  region                  = var.region
  tier                    = var.tier
  memory_size_gb          = var.memory_size_gb
  redis_version           = "REDIS_7_2"
  authorized_network      = var.network_id
  connect_mode            = "PRIVATE_SERVICE_ACCESS"
  auth_enabled            = true
  transit_encryption_mode = "SERVER_AUTHENTICATION"
  redis_configs = {
    maxmemory-policy = "allkeys-lru"
  }
}
