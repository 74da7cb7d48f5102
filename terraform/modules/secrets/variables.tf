variable "project_id" {
  type        = string
  description = "Google Cloud project id."
}

variable "name_prefix" {
  type        = string
  description = "Prefix of every secret id."
}

variable "database_url" {
  type        = string
  description = "SQLAlchemy URL of Cloud SQL, password included."
  sensitive   = true
}

variable "redis_url" {
  type        = string
  description = "rediss:// URL of Memorystore, AUTH string included."
  sensitive   = true
}

variable "redis_server_ca_pem" {
  type        = string
  description = "Memorystore server CA, mounted as a file for TLS verification."
}

variable "sql_server_ca_pem" {
  type        = string
  description = "Cloud SQL server CA, mounted as a file for TLS verification (sslmode=verify-ca)."
}

variable "access" {
  type        = map(map(string))
  description = "Secret short name -> {component -> service account email} allowed to read it, nothing else; the component keys must be known at plan time."
  validation {
    condition     = alltrue([for secret in keys(var.access) : contains(["database-url", "redis-url", "jwt-secret", "metrics-token", "redis-ca", "sql-ca"], secret)])
    error_message = "access names a secret this module does not hold."
  }
}
