variable "project_id" {
  type        = string
  description = "Google Cloud project id."
}

variable "region" {
  type        = string
  description = "Region of the Cloud SQL instance."
}

variable "name_prefix" {
  type        = string
  description = "Prefix of every resource name."
}

variable "network_id" {
  type        = string
  description = "VPC the instance gets its private IP in."
}

variable "tier" {
  type        = string
  description = "Machine tier, e.g. db-custom-1-3840."
}

variable "disk_size_gb" {
  type        = number
  description = "Initial SSD size in GB (grows automatically)."
}

variable "high_availability" {
  type        = bool
  description = "REGIONAL (standby in a second zone) when true, ZONAL otherwise."
}

variable "backup_retention_days" {
  type        = number
  description = "Automated backups kept."
  default     = 14
}

variable "pitr_log_retention_days" {
  type        = number
  description = "Days of write-ahead log kept for point-in-time recovery (1-7)."
  default     = 7
}

variable "database_name" {
  type        = string
  description = "Name of the application database."
  default     = "abbanoa"
}

variable "user_name" {
  type        = string
  description = "Name of the application database user."
  default     = "abbanoa"
}

variable "deletion_protection" {
  type        = bool
  description = "Refuse to destroy the instance."
}
