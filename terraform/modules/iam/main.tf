# One service account per component, each with only what it uses:
# - a job function: read the warehouse (write it only if the manifest says warehouse_write),
#   run BigQuery jobs, publish to its own topic and the alert topic, receive its trigger;
# - the notifier: receive alert events; - the API: nothing beyond its secrets;
# - the dashboard: read the warehouse (fallback mode); - the scheduler: invoke HTTP jobs.
# Secret access is granted per secret by the secrets module; Cloud SQL and Redis are
# reached by private IP with credentials, so no Cloud SQL IAM role is needed.

locals {
  job_accounts = { for name, job in var.jobs : name => substr("job-${replace(name, "_", "-")}", 0, 30) }
  base_roles   = ["roles/logging.logWriter", "roles/monitoring.metricWriter"]
  components   = ["api", "dashboard", "notifier", "scheduler"]
  account_emails = merge(
    { for name, sa in google_service_account.job : "job:${name}" => sa.email },
    { for name, sa in google_service_account.component : name => sa.email },
  )
}

resource "google_service_account" "job" {
  for_each     = local.job_accounts
  project      = var.project_id
  account_id   = each.value
  display_name = "Abbanoa job ${each.key}"
}

resource "google_service_account" "component" {
  for_each     = toset(local.components)
  project      = var.project_id
  account_id   = "abbanoa-${each.value}"
  display_name = "Abbanoa ${each.value}"
}

resource "google_project_iam_member" "base" {
  for_each = { for pair in setproduct(keys(local.account_emails), local.base_roles) : "${pair[0]}/${pair[1]}" => { account = pair[0], role = pair[1] } }
  project  = var.project_id
  role     = each.value.role
  member   = "serviceAccount:${local.account_emails[each.value.account]}"
}

# Running a query is a project-level permission; what it can read is set on the dataset.
resource "google_project_iam_member" "bigquery_job_user" {
  for_each = merge({ for name, sa in google_service_account.job : name => sa.email }, { dashboard = google_service_account.component["dashboard"].email })
  project  = var.project_id
  role     = "roles/bigquery.jobUser"
  member   = "serviceAccount:${each.value}"
}

resource "google_bigquery_dataset_iam_member" "reader" {
  for_each   = merge({ for name, sa in google_service_account.job : name => sa.email }, { dashboard = google_service_account.component["dashboard"].email })
  project    = var.project_id
  dataset_id = var.dataset_id
  role       = "roles/bigquery.dataViewer"
  member     = "serviceAccount:${each.value}"
}

resource "google_bigquery_dataset_iam_member" "writer" {
  for_each   = { for name, job in var.jobs : name => google_service_account.job[name].email if job.warehouse_write }
  project    = var.project_id
  dataset_id = var.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = "serviceAccount:${each.value}"
}

resource "google_pubsub_topic_iam_member" "own_topic" {
  for_each = var.jobs
  project  = var.project_id
  topic    = var.topics_ready[each.value.topic]
  role     = "roles/pubsub.publisher"
  member   = "serviceAccount:${google_service_account.job[each.key].email}"
}

resource "google_pubsub_topic_iam_member" "alerts" {
  for_each = var.jobs
  project  = var.project_id
  topic    = var.topics_ready[var.alert_topic]
  role     = "roles/pubsub.publisher"
  member   = "serviceAccount:${google_service_account.job[each.key].email}"
}

# Eventarc delivers Pub/Sub events to a function as the function's own account.
resource "google_project_iam_member" "event_receiver" {
  for_each = merge({ for name, sa in google_service_account.job : name => sa.email }, { notifier = google_service_account.component["notifier"].email })
  project  = var.project_id
  role     = "roles/eventarc.eventReceiver"
  member   = "serviceAccount:${each.value}"
}
