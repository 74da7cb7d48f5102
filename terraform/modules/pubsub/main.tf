# Job topics (Cloud Scheduler publishes, the job's function is triggered), the alert topic
# (jobs publish, the notifier is triggered), and per topic a dead-letter topic
# `<topic>-dead-letter` (the name abbanoa.jobs.scheduler uses locally) with a pull
# subscription that keeps what could not be delivered for inspection and replay.

resource "google_pubsub_topic" "topic" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption; messages are job triggers and alert summaries, no personal data
  for_each                   = var.topics
  project                    = var.project_id
  name                       = each.value
  message_retention_duration = var.message_retention
}

resource "google_pubsub_topic" "dead_letter" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption, as for the topics
  for_each                   = var.topics
  project                    = var.project_id
  name                       = "${each.value}-dead-letter"
  message_retention_duration = var.dead_letter_retention
}

resource "google_pubsub_subscription" "dead_letter" {
  for_each                   = var.topics
  project                    = var.project_id
  name                       = "${each.value}-dead-letter"
  topic                      = google_pubsub_topic.dead_letter[each.key].id
  ack_deadline_seconds       = 60
  message_retention_duration = var.dead_letter_retention
  retain_acked_messages      = true

  expiration_policy {
    ttl = ""
  }
}

# Pub/Sub's service agent forwards dead letters: it publishes to the dead-letter topics.
data "google_project" "this" {
  project_id = var.project_id
}

resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  for_each = var.topics
  project  = var.project_id
  topic    = google_pubsub_topic.dead_letter[each.key].name
  role     = "roles/pubsub.publisher"
  member   = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}
