variable "project_id" {
  type        = string
  description = "Google Cloud project id."
}

variable "region" {
  type        = string
  description = "Region of the scheduler jobs."
}

variable "name_prefix" {
  type        = string
  description = "Prefix of every scheduler job name."
}

variable "time_zone" {
  type        = string
  description = "Time zone of the crons (the manifest's time_zone, Europe/Rome)."
}

variable "jobs" {
  type = map(object({
    description = string
    cron        = string
    topic_id    = string
  }))
  description = "Job name -> its manifest description and cron and its topic id: only the jobs with a cron."
}

variable "enabled" {
  type        = bool
  description = "false: every scheduler job is created paused (bootstrap); true: they fire on their crons."
}
