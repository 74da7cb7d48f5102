# Cloud SQL for PostgreSQL 16: private IP only, automated backups with point-in-time
# recovery, HA in prod, pg_stat_statements and audit-grade logging flags. Cloud SQL has no
# TimescaleDB: the migrations detect that and use plain partitioning (DESIGN.md).

resource "random_password" "app" {
  length  = 32
  special = false
}

resource "google_sql_database_instance" "main" {
  #checkov:skip=CKV_GCP_6:TLS is enforced (ssl_mode ENCRYPTED_ONLY) and the app verifies the server against its CA (sslmode=verify-ca); the check accepts only client certificates (TRUSTED_CLIENT_CERTIFICATE_REQUIRED), which would add a client key per component on top of password auth over a private IP
  #checkov:skip=CKV2_GCP_13:log_duration would log every statement of the 5-minute syncs and rollups; Query Insights (enabled below) records statement durations without the log volume, and log_min_duration_statement can be lowered when investigating
  #checkov:skip=CKV_GCP_79:POSTGRES_16 is the newest major the Cloud SQL and local (TimescaleDB pg16) stacks share
  project             = var.project_id
  name                = "${var.name_prefix}-pg"
  region              = var.region
  database_version    = "POSTGRES_16"
  deletion_protection = var.deletion_protection

  settings {
    tier              = var.tier
    edition           = "ENTERPRISE"
    availability_type = var.high_availability ? "REGIONAL" : "ZONAL"
    disk_type         = "PD_SSD"
    disk_size         = var.disk_size_gb
    disk_autoresize   = true

    ip_configuration {
      ipv4_enabled                                  = false
      private_network                               = var.network_id
      enable_private_path_for_google_cloud_services = true
      # TLS only: the app connects with sslmode=verify-ca against the instance's server CA
      # (database_url, server_ca_pem; abbanoa/stores/postgres.py)
      ssl_mode = "ENCRYPTED_ONLY"
    }

    backup_configuration {
      enabled                        = true
      start_time                     = "01:00"
      point_in_time_recovery_enabled = true
      transaction_log_retention_days = var.pitr_log_retention_days
      backup_retention_settings {
        retained_backups = var.backup_retention_days
        retention_unit   = "COUNT"
      }
    }

    maintenance_window {
      day          = 7
      hour         = 3
      update_track = "stable"
    }

    insights_config {
      query_insights_enabled  = true
      query_string_length     = 1024
      record_application_tags = true
      record_client_address   = false
    }

    # pg_stat_statements (Cloud SQL preloads it; `CREATE EXTENSION pg_stat_statements` in
    # the database enables the view) and audit-grade logging flags
    database_flags {
      name  = "pg_stat_statements.track"
      value = "all"
    }
    database_flags {
      name  = "pg_stat_statements.max"
      value = "10000"
    }
    database_flags {
      name  = "cloudsql.enable_pgaudit"
      value = "on"
    }
    database_flags {
      name  = "log_checkpoints"
      value = "on"
    }
    database_flags {
      name  = "log_connections"
      value = "on"
    }
    database_flags {
      name  = "log_disconnections"
      value = "on"
    }
    database_flags {
      name  = "log_lock_waits"
      value = "on"
    }
    database_flags {
      name  = "log_temp_files"
      value = "0"
    }
    database_flags {
      name  = "log_min_messages"
      value = "error"
    }
    database_flags {
      name  = "log_min_error_statement"
      value = "error"
    }
    database_flags {
      name  = "log_min_duration_statement"
      value = "-1"
    }
    database_flags {
      name  = "log_statement"
      value = "ddl"
    }
    database_flags {
      name  = "log_hostname"
      value = "on"
    }
  }
}

resource "google_sql_database" "app" {
  project  = var.project_id
  instance = google_sql_database_instance.main.name
  name     = var.database_name
}

resource "google_sql_user" "app" {
  project  = var.project_id
  instance = google_sql_database_instance.main.name
  name     = var.user_name
  password = random_password.app.result
}
