variable "project_id" {
  type        = string
  description = "Google Cloud project id."
}

variable "name_prefix" {
  type        = string
  description = "Prefix of every account id (two deployments in one project do not collide)."
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,10}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-12 characters of a-z, 0-9 and '-', starting with a letter (account ids are at most 30)."
  }
}

variable "jobs" {
  type = map(object({
    topic    = string
    bigquery = string
    kind     = string
  }))
  description = "Job name -> its topic, its BigQuery access (read, edit or create) and how it runs (function or run_job), from the schedule manifest."
  validation {
    condition     = alltrue([for job in values(var.jobs) : contains(["read", "edit", "create"], job.bigquery) && contains(["function", "run_job"], job.kind)])
    error_message = "bigquery must be read, edit or create; kind function or run_job."
  }
}

variable "alert_topic" {
  type        = string
  description = "Topic the jobs publish alerts to and the notifier is triggered by."
}

variable "dataset_id" {
  type        = string
  description = "Warehouse dataset the jobs (and in fallback mode the dashboard) read."
}

variable "dashboard_reads_bigquery" {
  type        = bool
  description = "The dashboard reads the warehouse itself (DASHBOARD_DATA_MODE=fallback)."
  default     = false
}

variable "topics_ready" {
  type        = map(string)
  description = "Topic name -> id (creation order: topic-level IAM needs the topics)."
}
