# One job: Cloud Scheduler -> Pub/Sub topic -> Cloud Function (2nd gen), with the manifest's
# retry policy and dead-letter topic. Event-driven 2nd-gen functions may run 540 s at most;
# a job whose timeout_s is longer is deployed as an HTTP function (60 min) that Cloud
# Scheduler calls directly with an OIDC token and the same retry bounds.

locals {
  event_driven = var.function_timeout_s <= 540
  environment  = merge(var.environment_variables, { JOB_NAME = var.job_name })
}

resource "google_cloudfunctions2_function" "function" {
  #checkov:skip=CKV_GCP_124:event-driven jobs are ALLOW_INTERNAL_ONLY; an HTTP job (timeout over 540 s) must be ALLOW_ALL because Cloud Scheduler calls from outside the VPC, and only the scheduler's service account holds run.invoker on it
  project     = var.project_id
  location    = var.region
  name        = var.function_name
  description = var.job_description

  build_config {
    runtime     = var.function_runtime
    entry_point = local.event_driven ? var.function_entry_point : var.function_http_entry_point
    source {
      storage_source {
        bucket = var.source_bucket
        object = var.source_object
      }
    }
  }

  service_config {
    available_memory                 = "${var.function_available_memory_mb}M"
    timeout_seconds                  = local.event_driven ? var.function_timeout_s : min(var.function_timeout_s, 3600)
    max_instance_count               = var.max_instance_count
    max_instance_request_concurrency = 1
    ingress_settings                 = local.event_driven ? "ALLOW_INTERNAL_ONLY" : "ALLOW_ALL"
    all_traffic_on_latest_revision   = true
    service_account_email            = var.service_account_email
    vpc_connector                    = var.vpc_connector
    vpc_connector_egress_settings    = "PRIVATE_RANGES_ONLY"
    environment_variables            = local.environment

    dynamic "secret_environment_variables" {
      for_each = var.secret_environment_variables
      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = secret_environment_variables.value
        version    = "latest"
      }
    }

    dynamic "secret_volumes" {
      for_each = var.secret_files
      content {
        mount_path = dirname(secret_volumes.key)
        project_id = var.project_id
        secret     = secret_volumes.value
        versions {
          path    = basename(secret_volumes.key)
          version = "latest"
        }
      }
    }
  }

  dynamic "event_trigger" {
    for_each = local.event_driven ? [var.topic_id] : []
    content {
      trigger_region        = var.region
      event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
      pubsub_topic          = event_trigger.value
      retry_policy          = "RETRY_POLICY_RETRY"
      service_account_email = var.service_account_email
    }
  }
}

# The trigger (event-driven) or Cloud Scheduler (HTTP) may invoke the function; nobody else.
resource "google_cloud_run_service_iam_member" "invoker" {
  project  = var.project_id
  location = var.region
  service  = google_cloudfunctions2_function.function.service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${local.event_driven ? var.service_account_email : var.scheduler_service_account_email}"
}

resource "google_cloud_scheduler_job" "job" {
  count            = var.job_schedule == null ? 0 : 1
  project          = var.project_id
  region           = var.region
  name             = var.function_name
  description      = var.job_description
  schedule         = var.job_schedule
  time_zone        = var.time_zone
  attempt_deadline = local.event_driven ? null : "${min(var.function_timeout_s, 1800)}s"

  retry_config {
    retry_count          = var.max_attempts - 1
    min_backoff_duration = "${var.min_backoff_s}s"
    max_backoff_duration = "${var.max_backoff_s}s"
  }

  dynamic "pubsub_target" {
    for_each = local.event_driven ? [var.topic_id] : []
    content {
      topic_name = pubsub_target.value
      data       = base64encode(jsonencode({ job = var.job_name, trigger = "scheduler" }))
      attributes = { job = var.job_name }
    }
  }

  dynamic "http_target" {
    for_each = local.event_driven ? [] : [google_cloudfunctions2_function.function.service_config[0].uri]
    content {
      uri         = http_target.value
      http_method = "POST"
      body        = base64encode(jsonencode({}))
      headers     = { "Content-Type" = "application/json" }
      oidc_token {
        service_account_email = var.scheduler_service_account_email
        audience              = http_target.value
      }
    }
  }
}

# The Eventarc-managed push subscription cannot be configured through the function
# resource: give it the manifest's redelivery backoff, delivery attempts and dead-letter
# topic once it exists (gcloud, as the platform engineer running apply is authenticated).
resource "terraform_data" "dead_letter_policy" {
  count = local.event_driven ? 1 : 0
  triggers_replace = [
    google_cloudfunctions2_function.function.event_trigger[0].trigger,
    var.dead_letter_topic_id, var.max_attempts, var.min_backoff_s, var.max_backoff_s,
  ]

  provisioner "local-exec" {
    interpreter = ["/bin/bash", "-c"]
    command     = <<-EOT
      set -euo pipefail
      sub=$(gcloud eventarc triggers describe "$TRIGGER" --location "$REGION" --project "$PROJECT" --format 'value(transport.pubsub.subscription)')
      gcloud pubsub subscriptions update "$sub" --project "$PROJECT" \
        --dead-letter-topic "$DEAD_LETTER" --max-delivery-attempts "$ATTEMPTS" \
        --min-retry-delay "$MIN_BACKOFF" --max-retry-delay "$MAX_BACKOFF"
      gcloud pubsub subscriptions add-iam-policy-binding "$sub" --project "$PROJECT" \
        --member "serviceAccount:service-$(gcloud projects describe "$PROJECT" --format 'value(projectNumber)')@gcp-sa-pubsub.iam.gserviceaccount.com" \
        --role roles/pubsub.subscriber >/dev/null
    EOT
    environment = {
      TRIGGER     = google_cloudfunctions2_function.function.event_trigger[0].trigger
      REGION      = var.region
      PROJECT     = var.project_id
      DEAD_LETTER = var.dead_letter_topic_id
      ATTEMPTS    = max(5, var.max_attempts)
      MIN_BACKOFF = "${var.min_backoff_s}s"
      MAX_BACKOFF = "${var.max_backoff_s}s"
    }
  }
}
