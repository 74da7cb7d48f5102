variable "project_id" {
  type        = string
  description = "Google Cloud project id."
}

variable "jobs" {
  type = map(object({
    topic           = string
    warehouse_write = bool
  }))
  description = "Job name -> its topic and whether it writes to the warehouse (from the schedule manifest)."
}

variable "alert_topic" {
  type        = string
  description = "Topic the jobs publish alerts to and the notifier is triggered by."
}

variable "dataset_id" {
  type        = string
  description = "Warehouse dataset the jobs and the dashboard read."
}

variable "topics_ready" {
  type        = map(string)
  description = "Topic name -> id (creation order: topic-level IAM needs the topics)."
}
