# A long job of abbanoa/jobs/schedule.yaml (timeout_s over 540 s): Cloud Run job +
# workflow + Eventarc trigger on the job's topic.

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
  description = "Job name from the schedule manifest (JOB_NAME, the run-job argument)."
}

variable "job_description" {
  type        = string
  description = "What the job does (manifest description)."
}

variable "run_job_name" {
  type        = string
  description = "Name of the Cloud Run job, the workflow and the trigger."
}

variable "image" {
  type        = string
  description = "Image of the functions target of the root Dockerfile (python -m abbanoa run-job)."
}

variable "topic_id" {
  type        = string
  description = "The job's topic (Cloud Scheduler and the API's run now publish to it)."
}

variable "dead_letter_topic_id" {
  type        = string
  description = "Id of the topic's dead-letter topic."
}

variable "timeout_s" {
  type        = number
  description = "Task timeout (manifest timeout_s); Cloud Run jobs allow 24 h."
  validation {
    condition     = var.timeout_s > 0 && var.timeout_s <= 86400
    error_message = "A Cloud Run job task runs 24 h (86400 s) at most."
  }
}

variable "memory_mb" {
  type        = number
  description = "Memory of the task (manifest memory_mb)."
}

variable "cpu" {
  type        = string
  description = "vCPU of the task (Cloud Run needs 2 for more than 4 GiB)."
  default     = "2"
}

variable "max_attempts" {
  type        = number
  description = "Runs before the message goes to the dead-letter topic (manifest retry.max_attempts)."
}

variable "min_backoff_s" {
  type        = number
  description = "First retry delay (manifest retry.min_backoff_s)."
}

variable "max_backoff_s" {
  type        = number
  description = "Largest retry delay (manifest retry.max_backoff_s)."
}

variable "secret_environment_variables" {
  type        = map(string)
  description = "Environment name -> Secret Manager secret id (latest version): only the secrets a job uses."
  default     = {}
}

variable "secret_files" {
  type        = map(string)
  description = "Mount path -> Secret Manager secret id, mounted as a file named after the last path element."
  default     = {}
}

variable "service_account_email" {
  type        = string
  description = "Identity of the job, its workflow and its trigger."
}

variable "deletion_protection" {
  type        = bool
  description = "Refuse to destroy the Cloud Run job."
}
