variable "project_id" {
  type        = string
  description = "Google Cloud project id."
}

variable "name_prefix" {
  type        = string
  description = "Prefix of display names."
}

variable "notification_emails" {
  type        = list(string)
  description = "Addresses alerted by e-mail."
}

variable "job_services" {
  type        = map(string)
  description = "Job name -> short name of the Cloud Run service behind its function (resource.labels.service_name)."
}

variable "long_job_workflows" {
  type        = map(string)
  description = "Long job name -> the workflow that runs its Cloud Run job."
  default     = {}
}

variable "freshness_service" {
  type        = string
  description = "Short service name of the job whose successful runs mean fresh data (realtime sync); an event-driven function."
}

variable "stale_after_s" {
  type        = number
  description = "No successful freshness-job run for this long raises the stale-data alert."
  default     = 1800
}

variable "api_service" {
  type        = string
  description = "Cloud Run service name of the API."
}

variable "api_host" {
  type        = string
  description = "Host name of the API (uptime check)."
}

variable "dashboard_host" {
  type        = string
  description = "Host name of the dashboard (uptime check)."
}

variable "api_health_path" {
  type        = string
  description = "API health path."
}

variable "dashboard_health_path" {
  type        = string
  description = "Dashboard health path."
}

variable "api_5xx_ratio" {
  type        = number
  description = "Share of API responses that are 5xx above which the alert fires."
  default     = 0.05
}
