variable "project_id" {
  type        = string
  description = "Development Google Cloud project."
}

variable "region" {
  type        = string
  description = "Region of every regional resource."
  default     = "europe-west8"
}

variable "image_tag" {
  type        = string
  description = "Tag of the api, dashboard and functions images pushed to the project's abbanoa-images repository."
}

variable "function_source_archive" {
  type        = string
  description = "Path of the zip built by scripts/build-function-source.sh."
  default     = "../../../dist/functions-source.zip"
}

variable "schedules_enabled" {
  type        = bool
  description = "false until the bootstrap job has run (terraform/README.md)."
  default     = false
}
