variable "project_id" {
  type        = string
  description = "Google Cloud project id."
}

variable "dataset_id" {
  type        = string
  description = "Warehouse dataset (settings BQ_DATASET)."
}

variable "location" {
  type        = string
  description = "Dataset location (settings BQ_LOCATION)."
}

variable "warehouse_dir" {
  type        = string
  description = "Directory of tables.yaml; each table's schema path is relative to it."
}

variable "tables" {
  type        = any
  description = "yamldecode(tables.yaml): name -> {description, schema, time_partitioning?, clustering?}, the definitions abbanoa.stores.bigquery creates too."
}

variable "deletion_protection" {
  type        = bool
  description = "Refuse to destroy tables holding data."
}

variable "raw_partition_expiration_days" {
  type        = number
  description = "Partitions of day-partitioned tables older than this are dropped (0: kept forever)."
  default     = 0
}
