variable "project_id" {
  type        = string
  description = "Google Cloud project the platform is deployed to (one project per environment)."
}

variable "region" {
  type        = string
  description = "Region of every regional resource (europe-west8 is Milan, the closest to Sardinia)."
  default     = "europe-west8"
}

variable "name_prefix" {
  type        = string
  description = "Prefix of resource and service-account names (two deployments in one project need two prefixes)."
  default     = "abbanoa"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,10}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-12 characters of a-z, 0-9 and '-', starting with a letter (service-account ids are at most 30)."
  }
}

variable "deletion_protection" {
  type        = bool
  description = "Protect the database, tables and services from terraform destroy (true in prod)."
}

variable "subnet_cidr" {
  type        = string
  description = "Primary range of the platform subnet."
  default     = "10.20.0.0/24"
  validation {
    condition     = can(cidrhost(var.subnet_cidr, 0)) && tonumber(split("/", var.subnet_cidr)[1]) <= 29
    error_message = "subnet_cidr must be an IPv4 CIDR range of /29 or larger, e.g. 10.20.0.0/24."
  }
}

variable "connector_cidr" {
  type        = string
  description = "/28 range of the serverless VPC access connector."
  default     = "10.20.8.0/28"
  validation {
    condition     = can(cidrhost(var.connector_cidr, 0)) && endswith(var.connector_cidr, "/28")
    error_message = "connector_cidr must be an IPv4 /28 range (the connector's required size), e.g. 10.20.8.0/28."
  }
}

variable "db_tier" {
  type        = string
  description = "Cloud SQL machine tier."
}

variable "db_disk_size_gb" {
  type        = number
  description = "Initial Cloud SQL disk size in GB."
}

variable "db_high_availability" {
  type        = bool
  description = "Regional (HA) Cloud SQL instance."
}

variable "redis_tier" {
  type        = string
  description = "Memorystore tier: BASIC or STANDARD_HA."
  validation {
    condition     = contains(["BASIC", "STANDARD_HA"], var.redis_tier)
    error_message = "redis_tier must be BASIC or STANDARD_HA."
  }
}

variable "redis_memory_size_gb" {
  type        = number
  description = "Memorystore memory in GB."
}

variable "bq_dataset" {
  type        = string
  description = "Warehouse dataset (BQ_DATASET)."
  default     = "water_network"
}

variable "bq_location" {
  type        = string
  description = "Warehouse location (BQ_LOCATION)."
  default     = "EU"
}

variable "default_tenant" {
  type        = string
  description = "Tenant imported nodes and districts belong to (DEFAULT_TENANT)."
  default     = "abbanoa"
}

variable "alert_topic" {
  type        = string
  description = "Pub/Sub topic of alerts (ALERT_TOPIC)."
  default     = "alerts"
}

variable "alert_webhook_urls" {
  type        = list(string)
  description = "Webhooks the notifier posts alerts to (ALERT_WEBHOOK_URLS)."
  default     = []
}

variable "dashboard_data_mode" {
  type        = string
  description = "Where the dashboard reads from: api, hybrid or fallback (DASHBOARD_DATA_MODE)."
  default     = "api"
  validation {
    condition     = contains(["api", "hybrid", "fallback"], var.dashboard_data_mode)
    error_message = "dashboard_data_mode must be api, hybrid or fallback."
  }
}

variable "extra_cors_origins" {
  type        = list(string)
  description = "Browser origins allowed to call the API besides the dashboard (CORS_ORIGINS)."
  default     = []
}

variable "forecast_history_days" {
  type        = number
  description = "Days of hourly history the local demand forecast learns from (FORECAST_HISTORY_DAYS, at least 21)."
  default     = 365
  validation {
    condition     = var.forecast_history_days >= 21
    error_message = "forecast_history_days must be at least 21."
  }
}

variable "forecast_backend" {
  type        = string
  description = "local or bqml (FORECAST_BACKEND); bqml gives the forecast job's account dataEditor on the warehouse (BigQuery ML models)."
  default     = "bqml"
  validation {
    condition     = contains(["local", "bqml"], var.forecast_backend)
    error_message = "forecast_backend must be local or bqml."
  }
}

variable "forecast_history_days" {
  type        = number
  description = "Days of hourly history the local demand forecast learns from (FORECAST_HISTORY_DAYS, at least 21)."
  default     = 365
  validation {
    condition     = var.forecast_history_days >= 21
    error_message = "forecast_history_days must be at least 21."
  }
}

variable "anomaly_backend" {
  type        = string
  description = "local or bqml (ANOMALY_BACKEND); bqml gives the detection job's account dataEditor on the warehouse (BigQuery ML models)."
  default     = "local"
  validation {
    condition     = contains(["local", "bqml"], var.anomaly_backend)
    error_message = "anomaly_backend must be local or bqml."
  }
}

variable "anomaly_sensitivity" {
  type        = map(number)
  description = "Per-metric detector sensitivity (ANOMALY_SENSITIVITY), e.g. { pressure = 1.5 }: 2 halves that metric's thresholds, 0.5 doubles them; night_flow is the district night-flow test. Per node: node_thresholds.sensitivity."
  default     = {}
  validation {
    condition     = alltrue([for f in values(var.anomaly_sensitivity) : f >= 0.05 && f <= 20])
    error_message = "Each sensitivity factor must be between 0.05 and 20."
  }
}

variable "retention_raw_days" {
  type        = number
  description = "Days of raw readings kept (RETENTION_RAW_DAYS; also the BigQuery partition expiry)."
  default     = 400
}

variable "retention_rollup_days" {
  type        = number
  description = "Days of rollups kept (RETENTION_ROLLUP_DAYS)."
  default     = 1825
}

variable "retention_log_days" {
  type        = number
  description = "Days of job runs and quarantine kept (RETENTION_LOG_DAYS)."
  default     = 90
}

variable "partitions_ahead_days" {
  type        = number
  description = "Readings partitions created ahead (PARTITIONS_AHEAD_DAYS)."
  default     = 14
}

variable "log_level" {
  type        = string
  description = "Logging level (LOG_LEVEL)."
  default     = "INFO"
  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING, ERROR or CRITICAL."
  }
}

variable "function_source_archive" {
  type        = string
  description = "Path of the zip built by scripts/build-function-source.sh."
  default     = "../dist/functions-source.zip"
}

variable "api_image" {
  type        = string
  description = "API image in Artifact Registry, by digest (…/abbanoa-images/api@sha256:…)."
}

variable "dashboard_image" {
  type        = string
  description = "Dashboard image in Artifact Registry, by digest."
}

variable "jobs_image" {
  type        = string
  description = "Image of the long jobs (Cloud Run jobs): the functions target of the root Dockerfile, by digest."
}

variable "schedules_enabled" {
  type        = bool
  description = "false (first apply): every Cloud Scheduler job is created paused; set true once the bootstrap job has run (terraform/README.md)."
  default     = false
}

variable "api_concurrency" {
  type        = number
  description = "Requests one API instance takes at once: gunicorn's workers x threads in the Dockerfile (2 x 4)."
  default     = 8
}

variable "dashboard_concurrency" {
  type        = number
  description = "Browser sessions (websockets) one dashboard instance takes at once."
  default     = 20
}

variable "dashboard_request_timeout_s" {
  type        = number
  description = "Dashboard request timeout = the longest a websocket lives before the browser reconnects (Cloud Run's maximum: 3600)."
  default     = 3600
}

variable "api_health_path" {
  type        = string
  description = "API health endpoint (probes and uptime check)."
  default     = "/healthz"
}

variable "api_min_instances" {
  type        = number
  description = "API instances kept warm."
}

variable "api_max_instances" {
  type        = number
  description = "API instances at most."
}

variable "dashboard_min_instances" {
  type        = number
  description = "Dashboard instances kept warm."
}

variable "dashboard_max_instances" {
  type        = number
  description = "Dashboard instances at most."
}

variable "alert_emails" {
  type        = list(string)
  description = "On-call addresses notified by the alert policies."
  default     = []
}

variable "freshness_job" {
  type        = string
  description = "Job (schedule manifest name, an event-driven one: timeout_s <= 540) whose successful runs mean the data is fresh."
  default     = "realtime_sync"
}

variable "stale_after_s" {
  type        = number
  description = "Seconds without a successful freshness_job run before the stale-data alert."
  default     = 1800
}

variable "earliest_reading_time" {
  type        = string
  description = "Readings stamped before this ISO 8601 instant are quarantined as too_old (EARLIEST_READING_TIME)."
  default     = "2000-01-01T00:00:00Z"
}

variable "bigquery_deadline_s" {
  type        = number
  description = "Seconds any one BigQuery call may take, retries included (BIGQUERY_DEADLINE_S)."
  default     = 60
}
