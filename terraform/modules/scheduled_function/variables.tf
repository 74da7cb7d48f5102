# The shape of terraform-google-modules/scheduled-function: a Cloud Scheduler job that
# publishes to a topic, and the Cloud Function (2nd gen) that the topic triggers.
# Instantiated once per entry of abbanoa/jobs/schedule.yaml (and once for the notifier).

variable "project_id" {
  type        = string
  description = "Google Cloud project id."
}

variable "region" {
  type        = string
  description = "Region of the function and the scheduler job."
}

variable "job_name" {
  type        = string
  description = "Job name from the schedule manifest; becomes JOB_NAME in the function's environment."
}

variable "job_description" {
  type        = string
  description = "What the job does (manifest description)."
}

variable "job_schedule" {
  type        = string
  description = "5-field cron in time_zone; null: no scheduler job (run on demand)."
  default     = null
}

variable "time_zone" {
  type        = string
  description = "Time zone of the cron (the manifest's time_zone, Europe/Rome)."
}

variable "topic_name" {
  type        = string
  description = "Topic the scheduler publishes to and the function is triggered by."
}

variable "topic_id" {
  type        = string
  description = "Id of topic_name (created by the pubsub module)."
}

variable "dead_letter_topic_id" {
  type        = string
  description = "Id of the topic's dead-letter topic."
}

variable "function_name" {
  type        = string
  description = "Name of the Cloud Function."
}

variable "function_entry_point" {
  type        = string
  description = "Entry point in functions/main.py for an event-driven function (job_pubsub, notify_alert)."
}

variable "function_http_entry_point" {
  type        = string
  description = "Entry point used when the job's timeout exceeds the event-driven limit (HTTP functions may run 60 minutes)."
  default     = "job_http"
}

variable "function_runtime" {
  type        = string
  description = "Cloud Functions runtime."
  default     = "python311"
}

variable "source_bucket" {
  type        = string
  description = "GCS bucket holding the function source archive."
}

variable "source_object" {
  type        = string
  description = "Object name of the source archive (content-addressed: a new archive rolls a new version)."
}

variable "function_available_memory_mb" {
  type        = number
  description = "Memory of one instance (manifest memory_mb)."
}

variable "function_timeout_s" {
  type        = number
  description = "Function timeout (manifest timeout_s)."
}

variable "max_attempts" {
  type        = number
  description = "Deliveries before a message goes to the dead-letter topic (manifest retry.max_attempts)."
}

variable "min_backoff_s" {
  type        = number
  description = "Minimum redelivery backoff (manifest retry.min_backoff_s)."
}

variable "max_backoff_s" {
  type        = number
  description = "Maximum redelivery backoff (manifest retry.max_backoff_s)."
}

variable "environment_variables" {
  type        = map(string)
  description = "Plain environment (every non-secret name of abbanoa/settings.py ENV); JOB_NAME is added here."
}

variable "secret_environment_variables" {
  type        = map(string)
  description = "Environment name -> Secret Manager secret id (latest version)."
}

variable "secret_files" {
  type        = map(string)
  description = "Mount path -> Secret Manager secret id, mounted as a file named after the last path element."
  default     = {}
}

variable "vpc_connector" {
  type        = string
  description = "Serverless VPC access connector id (Cloud SQL and Redis private IPs)."
}

variable "service_account_email" {
  type        = string
  description = "Identity of the function (and of its trigger)."
}

variable "max_instance_count" {
  type        = number
  description = "Upper bound of concurrent instances (the job lock lets one run at a time anyway)."
  default     = 3
}

variable "scheduler_service_account_email" {
  type        = string
  description = "Identity Cloud Scheduler signs its OIDC token with when it calls an HTTP-triggered job."
}
