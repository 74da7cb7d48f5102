# One service account per component, each with only what it uses:
# - a job: run BigQuery jobs and read the warehouse; edit it (tables, BigQuery ML models)
#   only when its manifest entry says so (`bigquery:` in abbanoa/jobs/schedule.yaml, for
#   BQML only when that backend is selected); create the dataset only for `create`;
#   publish to the alert topic; receive its own trigger's events; a long job (Cloud Run
#   job behind a workflow) also starts and watches its own Cloud Run job and publishes
#   failed runs to its dead-letter topic;
# - the notifier: receive alert events; - the API: publish run-now requests to the job
#   topics (no BigQuery role); - the dashboard: read the warehouse only in fallback mode.
# Secret access is granted per secret by the secrets module; Cloud SQL and Redis are
# reached by private IP with credentials, so no Cloud SQL IAM role is needed.

locals {
  # account ids are 6-30 characters, [a-z][-a-z0-9]*[a-z0-9]: <prefix>-<job>, the job part cut
  # to fit (tests/infra checks that every id of the manifest is distinct and valid)
  job_accounts = {
    for name, job in var.jobs : name => trimsuffix(substr("${var.name_prefix}-${replace(name, "_", "-")}", 0, 30), "-")
  }
  components = ["api", "dashboard", "notifier"]
  base_roles = ["roles/logging.logWriter", "roles/monitoring.metricWriter"]
  account_emails = merge(
    { for name, sa in google_service_account.job : "job:${name}" => sa.email },
    { for name, sa in google_service_account.component : name => sa.email },
  )
  job_emails = { for name, sa in google_service_account.job : name => sa.email }
  # who reads the warehouse: every job, and the dashboard when it reads BigQuery itself
  bigquery_readers = merge(
    local.job_emails,
    var.dashboard_reads_bigquery ? { dashboard = google_service_account.component["dashboard"].email } : {},
  )
  bigquery_editors = { for name, job in var.jobs : name => local.job_emails[name] if contains(["edit", "create"], job.bigquery) }
  dataset_creators = { for name, job in var.jobs : name => local.job_emails[name] if job.bigquery == "create" }
  event_receivers  = merge(local.job_emails, { notifier = google_service_account.component["notifier"].email })
  long_jobs        = { for name, job in var.jobs : name => local.job_emails[name] if job.kind == "run_job" }
}

resource "google_service_account" "job" {
  for_each     = local.job_accounts
  project      = var.project_id
  account_id   = each.value
  display_name = "${var.name_prefix} job ${each.key}"
}

resource "google_service_account" "component" {
  for_each     = toset(local.components)
  project      = var.project_id
  account_id   = "${var.name_prefix}-${each.value}"
  display_name = "${var.name_prefix} ${each.value}"
}

resource "google_project_iam_member" "base" {
  for_each = { for pair in setproduct(keys(local.account_emails), local.base_roles) : "${pair[0]}/${pair[1]}" => { account = pair[0], role = pair[1] } }
  project  = var.project_id
  role     = each.value.role
  member   = "serviceAccount:${local.account_emails[each.value.account]}"
}

# Running a query is a project-level permission; what it can read is set on the dataset.
# A dataset creator gets bigquery.user instead (jobs.create and datasets.create): etl_init
# calls create_dataset(exists_ok=True), which BigQuery refuses with 403 before it would
# answer 409 for an existing dataset.
resource "google_project_iam_member" "bigquery_job_user" {
  for_each = { for name, email in local.bigquery_readers : name => email if !contains(keys(local.dataset_creators), name) }
  project  = var.project_id
  role     = "roles/bigquery.jobUser"
  member   = "serviceAccount:${each.value}"
}

resource "google_project_iam_member" "bigquery_dataset_creator" {
  for_each = local.dataset_creators
  project  = var.project_id
  role     = "roles/bigquery.user"
  member   = "serviceAccount:${each.value}"
}

resource "google_bigquery_dataset_iam_member" "reader" {
  for_each   = local.bigquery_readers
  project    = var.project_id
  dataset_id = var.dataset_id
  role       = "roles/bigquery.dataViewer"
  member     = "serviceAccount:${each.value}"
}

# tables.create/updateData and models.create/getData/updateData (BigQuery ML) on the
# warehouse dataset only
resource "google_bigquery_dataset_iam_member" "editor" {
  for_each   = local.bigquery_editors
  project    = var.project_id
  dataset_id = var.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = "serviceAccount:${each.value}"
}

resource "google_pubsub_topic_iam_member" "alerts" {
  for_each = var.jobs
  project  = var.project_id
  topic    = var.topics_ready[var.alert_topic]
  role     = "roles/pubsub.publisher"
  member   = "serviceAccount:${local.job_emails[each.key]}"
}

# Run now: the API publishes to the job's topic, exactly the topics of the manifest.
resource "google_pubsub_topic_iam_member" "api_run_now" {
  for_each = var.jobs
  project  = var.project_id
  topic    = var.topics_ready[each.value.topic]
  role     = "roles/pubsub.publisher"
  member   = "serviceAccount:${google_service_account.component["api"].email}"
}

# Eventarc delivers Pub/Sub events as the trigger's account (the job's own, the notifier's).
resource "google_project_iam_member" "event_receiver" {
  for_each = local.event_receivers
  project  = var.project_id
  role     = "roles/eventarc.eventReceiver"
  member   = "serviceAccount:${each.value}"
}

# A long job's Eventarc trigger starts its workflow (no per-workflow IAM resource exists),
# and the workflow polls the Cloud Run job's long-running operation (project-level
# run.operations.get in run.viewer); starting the job itself is granted on the job
# (scheduled_run_job module).
resource "google_project_iam_member" "workflow_invoker" {
  for_each = local.long_jobs
  project  = var.project_id
  role     = "roles/workflows.invoker"
  member   = "serviceAccount:${each.value}"
}

resource "google_project_iam_member" "run_viewer" {
  for_each = local.long_jobs
  project  = var.project_id
  role     = "roles/run.viewer"
  member   = "serviceAccount:${each.value}"
}
