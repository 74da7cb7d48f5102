variable "runtime" {
  type = object({
    project_id    = string
    region        = string
    vpc_connector = string
    environment   = map(string)
  })
  description = "What every component shares (root local.runtime): project, region, VPC connector, the plain settings."
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

variable "concurrency" {
  type        = number
  description = "Requests one instance takes at once: the server's own slots (gunicorn workers x threads)."
  validation {
    condition     = var.concurrency >= 1 && var.concurrency <= 1000
    error_message = "concurrency must be between 1 and 1000 (Cloud Run's limit)."
  }
}

variable "request_timeout_s" {
  type        = number
  description = "Request timeout; a websocket is one request, cut at this age (Cloud Run allows 3600 s at most)."
  default     = 60
  validation {
    condition     = var.request_timeout_s >= 1 && var.request_timeout_s <= 3600
    error_message = "request_timeout_s must be between 1 and 3600 (Cloud Run's limit)."
  }
}

variable "session_affinity" {
  type        = bool
  description = "Route a client's requests to the same instance (best effort; Streamlit keeps the session in memory)."
  default     = false
}

variable "min_instances" {
  type        = number
  description = "Instances kept warm (0: scale to zero)."
}

variable "max_instances" {
  type        = number
  description = "Upper bound of instances."
}

variable "environment_overrides" {
  type        = map(string)
  description = "Plain settings this service sets differently from runtime.environment (e.g. TRUSTED_PROXY_HOPS)."
  default     = {}
}

variable "secret_environment_variables" {
  type        = map(string)
  description = "Environment name -> Secret Manager secret id (latest version): only the secrets this service uses."
  default     = {}
}

variable "secret_files" {
  type        = map(string)
  description = "Mount path -> Secret Manager secret id, mounted as a file named after the last path element; one file per directory (the directory names the volume)."
  default     = {}
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
