variable "project_id" {
  type        = string
  description = "Google Cloud project id."
}

variable "region" {
  type        = string
  description = "Region of the subnet and the serverless VPC connector."
}

variable "name_prefix" {
  type        = string
  description = "Prefix of every resource name."
}

variable "subnet_cidr" {
  type        = string
  description = "Primary range of the platform subnet."
}

variable "connector_cidr" {
  type        = string
  description = "/28 range of the serverless VPC access connector (Cloud Run and Cloud Functions egress)."
}

variable "private_services_prefix_length" {
  type        = number
  description = "Prefix length of the range reserved for private services access (Cloud SQL, Memorystore)."
  default     = 20
}

variable "connector_min_instances" {
  type        = number
  description = "Minimum instances of the VPC connector."
  default     = 2
}

variable "connector_max_instances" {
  type        = number
  description = "Maximum instances of the VPC connector."
  default     = 3
}
