variable "project_id" {
  type        = string
  description = "Google Cloud project id."
}

variable "region" {
  type        = string
  description = "Region of the Memorystore instance."
}

variable "name_prefix" {
  type        = string
  description = "Prefix of every resource name."
}

variable "network_id" {
  type        = string
  description = "VPC the instance is reachable from (private services access)."
}

variable "tier" {
  type        = string
  description = "BASIC (dev) or STANDARD_HA (replica in another zone)."
  validation {
    condition     = contains(["BASIC", "STANDARD_HA"], var.tier)
    error_message = "tier must be BASIC or STANDARD_HA."
  }
}

variable "memory_size_gb" {
  type        = number
  description = "Memory of the instance in GB."
}
