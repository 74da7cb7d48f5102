variable "project_id" {
  type        = string
  description = "Google Cloud project id."
}

variable "topics" {
  type        = set(string)
  description = "Topics to create: every job topic of the schedule manifest and the alert topic."
}

variable "message_retention" {
  type        = string
  description = "How long a topic keeps messages (replay after an outage)."
  default     = "86400s"
}

variable "dead_letter_retention" {
  type        = string
  description = "How long a dead-letter subscription keeps undeliverable messages."
  default     = "604800s"
}
