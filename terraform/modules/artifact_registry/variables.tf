variable "project_id" {
  type        = string
  description = "Google Cloud project id."
}

variable "region" {
  type        = string
  description = "Region of the repository."
}

variable "name_prefix" {
  type        = string
  description = "Prefix of the repository id."
}

variable "readers" {
  type        = list(string)
  description = "Service accounts allowed to pull images."
}

variable "keep_recent" {
  type        = number
  description = "Image versions kept per package by the cleanup policy."
  default     = 10
}
