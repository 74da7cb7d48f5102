# The shape of terraform-google-modules/event-function: a Pub/Sub topic triggers a Cloud
# Function (2nd gen). Instantiated once per job of abbanoa/jobs/schedule.yaml whose
# timeout_s fits an event-driven function (540 s), and once for the notifier.

variable "runtime" {
  type = object({
    project_id    = string
    region        = string
    vpc_connector = string
    environment   = map(string)
  })
  description = "What every component shares (root local.runtime): project, region, VPC connector, the plain settings."
}

variable "job_name" {
  type        = string
  description = "Job name from the schedule manifest; becomes JOB_NAME in the function's environment (empty for the notifier)."
}

variable "job_description" {
  type        = string
  description = "What the job does (manifest description)."
}

variable "topic_id" {
  type        = string
  description = "Topic that triggers the function (created by the pubsub module)."
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
  description = "Entry point in functions/main.py (job_pubsub, notify_alert)."
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
  description = "Function timeout (manifest timeout_s); event-driven 2nd-gen functions allow 540 s at most."
  validation {
    condition     = var.function_timeout_s >= 1 && var.function_timeout_s <= 540
    error_message = "An event-driven function runs 540 s at most: deploy a longer job as a Cloud Run job (scheduled_run_job)."
  }
}

variable "max_attempts" {
  type        = number
  description = "Deliveries before a message goes to the dead-letter topic (manifest retry.max_attempts; Pub/Sub's minimum is 5)."
}

variable "min_backoff_s" {
  type        = number
  description = "Minimum redelivery backoff (manifest retry.min_backoff_s)."
}

variable "max_backoff_s" {
  type        = number
  description = "Maximum redelivery backoff (manifest retry.max_backoff_s)."
}

variable "secret_environment_variables" {
  type        = map(string)
  description = "Environment name -> Secret Manager secret id (latest version): only the secrets this component uses."
  default     = {}
}

variable "secret_files" {
  type        = map(string)
  description = "Mount path -> Secret Manager secret id, mounted as a file named after the last path element."
  default     = {}
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
