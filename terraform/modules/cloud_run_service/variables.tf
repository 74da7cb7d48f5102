variable "project_id" {
  type        = string
  description = "Google Cloud project id."
}

variable "region" {
  type        = string
  description = "Region of the service."
}

variable "name" {
  type        = string
  description = "Service name (its URL is https://<name>-<project number>.<region>.run.app)."
}

variable "image" {
  type        = string
  description = "Container image, pinned by digest or tag in Artifact Registry."
}

variable "service_account_email" {
  type        = string
  description = "Identity the container runs as."
}

variable "port" {
  type        = number
  description = "Port the container listens on."
}

variable "health_path" {
  type        = string
  description = "HTTP path of the startup and liveness probes."
}

variable "cpu" {
  type        = string
  description = "vCPU limit of one instance."
  default     = "1"
}

variable "memory" {
  type        = string
  description = "Memory limit of one instance."
  default     = "512Mi"
}

variable "min_instances" {
  type        = number
  description = "Instances kept warm (0: scale to zero)."
}

variable "max_instances" {
  type        = number
  description = "Upper bound of instances."
}

variable "environment_variables" {
  type        = map(string)
  description = "Plain environment (every non-secret name of abbanoa/settings.py ENV)."
}

variable "secret_environment_variables" {
  type        = map(string)
  description = "Environment name -> Secret Manager secret id (latest version)."
}

variable "secret_files" {
  type        = map(string)
  description = "Mount path -> Secret Manager secret id, mounted as a file named after the last path element; one file per directory (the directory names the volume)."
  default     = {}
}

variable "vpc_connector" {
  type        = string
  description = "Serverless VPC access connector id; egress to private ranges only."
}

variable "public" {
  type        = bool
  description = "Let allUsers invoke the service (the app authenticates users itself)."
  default     = true
}

variable "deletion_protection" {
  type        = bool
  description = "Refuse to destroy the service."
}
