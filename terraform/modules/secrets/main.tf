# Secret Manager: the database URL (password), the Redis URL (AUTH string), the JWT signing
# key, the /metrics bearer token and the Redis and Cloud SQL server CAs. Values are
# generated or derived here, so they live in the Terraform state too: keep the state
# bucket private (README.md). Each secret is readable by exactly the accounts of
# var.access[secret] (least privilege: the JWT key and the metrics token by the API alone).

resource "random_password" "jwt" {
  length  = 64
  special = false
}

resource "random_password" "metrics" {
  length  = 48
  special = false
}

locals {
  # for_each iterates the names: a map holding sensitive values cannot be a for_each argument
  names = ["database-url", "redis-url", "jwt-secret", "metrics-token", "redis-ca", "sql-ca"]
  values = {
    "database-url"  = var.database_url
    "redis-url"     = var.redis_url
    "jwt-secret"    = random_password.jwt.result
    "metrics-token" = random_password.metrics.result
    "redis-ca"      = var.redis_server_ca_pem
    "sql-ca"        = var.sql_server_ca_pem
  }
  grants = merge([
    for secret, readers in var.access : {
      for component, email in readers : "${secret}/${component}" => { secret = secret, member = email }
    }
  ]...)
}

resource "google_secret_manager_secret" "secret" {
  for_each  = toset(local.names)
  project   = var.project_id
  secret_id = "${var.name_prefix}-${each.key}"

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "current" {
  for_each    = toset(local.names)
  secret      = google_secret_manager_secret.secret[each.key].id
  secret_data = local.values[each.key]
}

resource "google_secret_manager_secret_iam_member" "accessor" {
  for_each  = local.grants
  project   = var.project_id
  secret_id = google_secret_manager_secret.secret[each.value.secret].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${each.value.member}"
}
