# Abbanoa water-network platform on Google Cloud. The job list is NOT written here: every
# job of abbanoa/jobs/schedule.yaml gets its topic, Cloud Function and Cloud Scheduler job
# through for_each over the manifest, and the BigQuery tables come from
# abbanoa/warehouse/tables.yaml and its JSON schemas, the files the code reads too.

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  manifest      = yamldecode(file("${path.module}/../abbanoa/jobs/schedule.yaml"))
  jobs          = local.manifest.jobs
  warehouse_dir = "${path.module}/../abbanoa/warehouse"
  tables        = yamldecode(file("${local.warehouse_dir}/tables.yaml"))

  # Event-driven 2nd-gen functions run 540 s at most: a longer job is a Cloud Run job that a
  # workflow starts for each message on its topic (modules/scheduled_run_job).
  function_jobs = { for name, job in local.jobs : name => job if job.timeout_s <= 540 }
  long_jobs     = { for name, job in local.jobs : name => job if job.timeout_s > 540 }

  # BigQuery access per job from the manifest's `bigquery:` (default read): create (the
  # dataset and tables, etl_init), edit (tables and models), or bqml:<setting> = edit only
  # when that setting's backend is bqml (CREATE OR REPLACE MODEL), read otherwise.
  backends = { forecast_backend = var.forecast_backend, anomaly_backend = var.anomaly_backend }
  job_bigquery = {
    for name, job in local.jobs : name => (
      contains(["create", "edit"], try(job.bigquery, "read")) ? job.bigquery :
      startswith(try(job.bigquery, "read"), "bqml:") && lookup(local.backends, trimprefix(try(job.bigquery, ""), "bqml:"), "local") == "bqml" ? "edit" : "read"
    )
  }

  # Cloud Run URLs are https://<service>-<project number>.<region>.run.app: known before the
  # services exist, so every component can be told where the API and dashboard are.
  api_name       = "${var.name_prefix}-api"
  dashboard_name = "${var.name_prefix}-dashboard"
  api_url        = "https://${local.api_name}-${data.google_project.this.number}.${var.region}.run.app"
  dashboard_url  = "https://${local.dashboard_name}-${data.google_project.this.number}.${var.region}.run.app"

  # Every name of abbanoa/settings.py ENV is set for every component (tests/infra checks it),
  # the secret ones only where they are used. Non-secret values:
  app_env = {
    ABBANOA_ENV            = "production"
    REDIS_KEY_PREFIX       = ""
    GCP_PROJECT            = var.project_id
    BQ_DATASET             = var.bq_dataset
    BQ_LOCATION            = var.bq_location
    BIGQUERY_EMULATOR_HOST = "" # empty: real BigQuery
    PUBSUB_EMULATOR_HOST   = "" # empty: real Pub/Sub
    DEFAULT_TENANT         = var.default_tenant
    TIMEZONE               = local.manifest.time_zone
    ALERT_TOPIC            = var.alert_topic
    ALERT_WEBHOOK_URLS     = join(",", var.alert_webhook_urls)
    API_URL                = local.api_url
    DASHBOARD_DATA_MODE    = var.dashboard_data_mode
    CORS_ORIGINS           = join(",", concat([local.dashboard_url], var.extra_cors_origins))
    FORECAST_BACKEND       = var.forecast_backend
    FORECAST_HISTORY_DAYS  = tostring(var.forecast_history_days)
    ANOMALY_BACKEND        = var.anomaly_backend
    ANOMALY_SENSITIVITY    = join(",", [for metric, factor in var.anomaly_sensitivity : "${metric}=${factor}"])
    RETENTION_RAW_DAYS     = tostring(var.retention_raw_days)
    RETENTION_ROLLUP_DAYS  = tostring(var.retention_rollup_days)
    RETENTION_LOG_DAYS     = tostring(var.retention_log_days)
    PARTITIONS_AHEAD_DAYS  = tostring(var.partitions_ahead_days)
    LOG_LEVEL              = var.log_level
    JOB_NAME               = "" # the job modules set each job's own
    EARLIEST_READING_TIME  = var.earliest_reading_time
    BIGQUERY_DEADLINE_S    = tostring(var.bigquery_deadline_s)
    FAULT_KILL_AT          = "" # the fault suite's kill points; refused in production
    # nothing in front of a function or a Cloud Run job: trust no X-Forwarded-For (the
    # public services override it, see below)
    TRUSTED_PROXY_HOPS = "0"
  }
  # Cloud Run's front end appends the client's address as the last X-Forwarded-For hop
  public_env = { TRUSTED_PROXY_HOPS = "1" }

  # What every component shares, passed once to each component module.
  runtime = {
    project_id    = var.project_id
    region        = var.region
    vpc_connector = module.network.vpc_connector_id
    environment   = local.app_env
  }

  # Secrets: as environment or as files (REDIS_URL and DATABASE_URL verify Memorystore's and
  # Cloud SQL's TLS certificates against the CA files) ...
  secret_env_names = {
    "database-url"  = "DATABASE_URL"
    "redis-url"     = "REDIS_URL"
    "jwt-secret"    = "JWT_SECRET"
    "metrics-token" = "METRICS_TOKEN"
  }
  secret_file_paths = {
    "redis-ca" = "/secrets/redis-ca/server-ca.pem"
    "sql-ca"   = "/secrets/sql-ca/server-ca.pem"
  }
  # ... and exactly the ones each component uses (least privilege: only the API signs and
  # checks tokens and serves /metrics; the dashboard in api mode reads through the API).
  component_secrets = merge(
    { for name in keys(local.jobs) : "job:${name}" => ["database-url", "redis-url", "sql-ca", "redis-ca"] },
    {
      api       = ["database-url", "redis-url", "jwt-secret", "metrics-token", "sql-ca", "redis-ca"]
      dashboard = var.dashboard_data_mode == "hybrid" ? ["database-url", "redis-url", "sql-ca", "redis-ca"] : []
      notifier  = ["database-url", "sql-ca"]
    },
  )
  component_emails = merge(
    { for name, email in module.iam.job_emails : "job:${name}" => email },
    { api = module.iam.api_email, dashboard = module.iam.dashboard_email, notifier = module.iam.notifier_email },
  )
  secret_env = {
    for component, secrets in local.component_secrets : component => {
      for secret in secrets : local.secret_env_names[secret] => module.secrets.secret_ids[secret] if contains(keys(local.secret_env_names), secret)
    }
  }
  secret_files = {
    for component, secrets in local.component_secrets : component => {
      for secret in secrets : local.secret_file_paths[secret] => module.secrets.secret_ids[secret] if contains(keys(local.secret_file_paths), secret)
    }
  }
  secret_access = {
    for secret in concat(keys(local.secret_env_names), keys(local.secret_file_paths)) : secret => {
      for component, secrets in local.component_secrets : component => local.component_emails[component] if contains(secrets, secret)
    }
  }

  apis = [
    "artifactregistry.googleapis.com",
    "bigquery.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudscheduler.googleapis.com",
    "compute.googleapis.com",
    "eventarc.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "redis.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "servicenetworking.googleapis.com",
    "sqladmin.googleapis.com",
    "vpcaccess.googleapis.com",
    "workflows.googleapis.com",
  ]
}

resource "google_project_service" "api" {
  for_each           = toset(local.apis)
  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

module "network" {
  source         = "./modules/network"
  project_id     = var.project_id
  region         = var.region
  name_prefix    = var.name_prefix
  subnet_cidr    = var.subnet_cidr
  connector_cidr = var.connector_cidr
  depends_on     = [google_project_service.api]
}

module "database" {
  source              = "./modules/database"
  project_id          = var.project_id
  region              = var.region
  name_prefix         = var.name_prefix
  network_id          = module.network.network_id
  tier                = var.db_tier
  disk_size_gb        = var.db_disk_size_gb
  high_availability   = var.db_high_availability
  deletion_protection = var.deletion_protection
  # private IPs need the private services access peering first
  depends_on = [module.network]
}

module "redis" {
  source         = "./modules/redis"
  project_id     = var.project_id
  region         = var.region
  name_prefix    = var.name_prefix
  network_id     = module.network.network_id
  tier           = var.redis_tier
  memory_size_gb = var.redis_memory_size_gb
  depends_on     = [module.network]
}

module "bigquery" {
  source                        = "./modules/bigquery"
  project_id                    = var.project_id
  dataset_id                    = var.bq_dataset
  location                      = var.bq_location
  warehouse_dir                 = local.warehouse_dir
  tables                        = local.tables
  deletion_protection           = var.deletion_protection
  raw_partition_expiration_days = var.retention_raw_days
  depends_on                    = [google_project_service.api]
}

module "pubsub" {
  source     = "./modules/pubsub"
  project_id = var.project_id
  topics     = toset(concat([for job in local.jobs : job.topic], [var.alert_topic]))
  depends_on = [google_project_service.api]
}

module "iam" {
  source      = "./modules/iam"
  project_id  = var.project_id
  name_prefix = var.name_prefix
  jobs = {
    for name, job in local.jobs : name => {
      topic    = job.topic
      bigquery = local.job_bigquery[name]
      kind     = contains(keys(local.long_jobs), name) ? "run_job" : "function"
    }
  }
  alert_topic              = var.alert_topic
  dataset_id               = module.bigquery.dataset_id
  dashboard_reads_bigquery = var.dashboard_data_mode == "fallback"
  topics_ready             = module.pubsub.topic_ids
}

module "secrets" {
  source              = "./modules/secrets"
  project_id          = var.project_id
  name_prefix         = var.name_prefix
  database_url        = module.database.database_url
  redis_url           = module.redis.redis_url
  redis_server_ca_pem = module.redis.server_ca_pem
  sql_server_ca_pem   = module.database.server_ca_pem
  access              = local.secret_access
  depends_on          = [google_project_service.api]
}

module "artifact_registry" {
  source      = "./modules/artifact_registry"
  project_id  = var.project_id
  region      = var.region
  name_prefix = var.name_prefix
  readers     = [module.iam.api_email, module.iam.dashboard_email]
  depends_on  = [google_project_service.api]
}

# Function source: scripts/build-function-source.sh zips functions/main.py, the abbanoa
# package, sql/ and the runtime requirements (requirements.txt pinned by the runtime part
# of constraints.txt; no test or lint tool); the object name is the archive's hash, so a
# new archive rolls every function to a new version on the next apply.
resource "google_storage_bucket" "function_source" {
  #checkov:skip=CKV_GCP_62:access logs of a bucket that only Terraform and Cloud Build read add cost and no audit value beyond Cloud Audit Logs
  project                     = var.project_id
  name                        = "${var.project_id}-${var.name_prefix}-function-source"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = !var.deletion_protection

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      num_newer_versions = 5
    }
    action {
      type = "Delete"
    }
  }
}

resource "google_storage_bucket_object" "function_source" {
  name   = "functions-${filemd5(var.function_source_archive)}.zip"
  bucket = google_storage_bucket.function_source.name
  source = var.function_source_archive
}

# Jobs that fit an event-driven function (timeout_s <= 540 s).
module "job" {
  source   = "./modules/scheduled_function"
  for_each = local.function_jobs

  runtime                      = local.runtime
  job_name                     = each.key
  job_description              = each.value.description
  topic_id                     = module.pubsub.topic_ids[each.value.topic]
  dead_letter_topic_id         = module.pubsub.dead_letter_topic_ids[each.value.topic]
  function_name                = "${var.name_prefix}-${replace(each.key, "_", "-")}"
  function_entry_point         = "job_pubsub"
  source_bucket                = google_storage_bucket.function_source.name
  source_object                = google_storage_bucket_object.function_source.name
  function_available_memory_mb = try(each.value.memory_mb, 512)
  function_timeout_s           = each.value.timeout_s
  max_attempts                 = try(each.value.retry.max_attempts, 5)
  min_backoff_s                = try(each.value.retry.min_backoff_s, 10)
  max_backoff_s                = try(each.value.retry.max_backoff_s, 600)
  secret_environment_variables = local.secret_env["job:${each.key}"]
  secret_files                 = local.secret_files["job:${each.key}"]
  service_account_email        = module.iam.job_emails[each.key]
  depends_on                   = [module.secrets]
}

# Longer jobs: a Cloud Run job started by a workflow for each message on the job's topic.
module "long_job" {
  source   = "./modules/scheduled_run_job"
  for_each = local.long_jobs

  runtime                      = local.runtime
  job_name                     = each.key
  job_description              = each.value.description
  run_job_name                 = "${var.name_prefix}-${replace(each.key, "_", "-")}"
  image                        = var.jobs_image
  topic_id                     = module.pubsub.topic_ids[each.value.topic]
  dead_letter_topic_id         = module.pubsub.dead_letter_topic_ids[each.value.topic]
  timeout_s                    = each.value.timeout_s
  memory_mb                    = try(each.value.memory_mb, 512)
  max_attempts                 = try(each.value.retry.max_attempts, 5)
  min_backoff_s                = try(each.value.retry.min_backoff_s, 10)
  max_backoff_s                = try(each.value.retry.max_backoff_s, 600)
  secret_environment_variables = local.secret_env["job:${each.key}"]
  secret_files                 = local.secret_files["job:${each.key}"]
  service_account_email        = module.iam.job_emails[each.key]
  deletion_protection          = var.deletion_protection
  depends_on                   = [module.secrets]
}

# Cloud Scheduler publishes each scheduled job's topic; paused until schedules_enabled.
module "scheduler" {
  source      = "./modules/scheduler"
  project_id  = var.project_id
  region      = var.region
  name_prefix = var.name_prefix
  time_zone   = local.manifest.time_zone
  enabled     = var.schedules_enabled
  jobs = {
    for name, job in local.jobs : name => {
      description = job.description
      cron        = job.cron
      topic_id    = module.pubsub.topic_ids[job.topic]
    } if try(job.cron, null) != null
  }
  depends_on = [google_project_service.api]
}

# The notifier: triggered by the alert topic, posts alerts to ALERT_WEBHOOK_URLS.
module "notifier" {
  source = "./modules/scheduled_function"

  runtime                      = local.runtime
  job_name                     = ""
  job_description              = "posts alerts from the alert topic to the configured webhooks"
  topic_id                     = module.pubsub.topic_ids[var.alert_topic]
  dead_letter_topic_id         = module.pubsub.dead_letter_topic_ids[var.alert_topic]
  function_name                = "${var.name_prefix}-notifier"
  function_entry_point         = "notify_alert"
  source_bucket                = google_storage_bucket.function_source.name
  source_object                = google_storage_bucket_object.function_source.name
  function_available_memory_mb = 256
  function_timeout_s           = 60
  max_attempts                 = 5
  min_backoff_s                = 10
  max_backoff_s                = 600
  secret_environment_variables = local.secret_env["notifier"]
  secret_files                 = local.secret_files["notifier"]
  service_account_email        = module.iam.notifier_email
  depends_on                   = [module.secrets]
}

module "api" {
  source                       = "./modules/cloud_run_service"
  runtime                      = local.runtime
  name                         = local.api_name
  image                        = var.api_image
  service_account_email        = module.iam.api_email
  port                         = 8080
  health_path                  = var.api_health_path
  memory                       = "1Gi"
  concurrency                  = var.api_concurrency
  min_instances                = var.api_min_instances
  max_instances                = var.api_max_instances
  environment_overrides        = local.public_env
  secret_environment_variables = local.secret_env["api"]
  secret_files                 = local.secret_files["api"]
  deletion_protection          = var.deletion_protection
  depends_on                   = [module.secrets]
}

module "dashboard" {
  source                = "./modules/cloud_run_service"
  runtime               = local.runtime
  name                  = local.dashboard_name
  image                 = var.dashboard_image
  service_account_email = module.iam.dashboard_email
  port                  = 8501
  health_path           = "/_stcore/health"
  memory                = "2Gi"
  concurrency           = var.dashboard_concurrency
  # one websocket per browser session: it lasts up to the request timeout (Cloud Run's
  # maximum, 60 min), then the browser reconnects, to the same instance (session affinity)
  request_timeout_s            = var.dashboard_request_timeout_s
  session_affinity             = true
  min_instances                = var.dashboard_min_instances
  max_instances                = var.dashboard_max_instances
  environment_overrides        = local.public_env
  secret_environment_variables = local.secret_env["dashboard"]
  secret_files                 = local.secret_files["dashboard"]
  deletion_protection          = var.deletion_protection
  depends_on                   = [module.secrets]
}

module "monitoring" {
  source                = "./modules/monitoring"
  project_id            = var.project_id
  name_prefix           = var.name_prefix
  notification_emails   = var.alert_emails
  job_services          = { for name, job in module.job : name => job.service_name }
  long_job_workflows    = { for name, job in module.long_job : name => job.workflow_name }
  freshness_service     = module.job[var.freshness_job].service_name
  stale_after_s         = var.stale_after_s
  api_service           = module.api.name
  api_host              = trimprefix(module.api.uri, "https://")
  dashboard_host        = trimprefix(module.dashboard.uri, "https://")
  api_health_path       = var.api_health_path
  dashboard_health_path = "/_stcore/health"
}
