# One event-driven job (or the notifier): Pub/Sub topic -> Eventarc -> Cloud Function
# (2nd gen), with the manifest's retry policy and dead-letter topic on the trigger's
# subscription. Event-driven 2nd-gen functions may run 540 s at most: a longer job is a
# Cloud Run job behind a workflow (module scheduled_run_job). Cloud Scheduler publishes to
# the topic (module scheduler), and so does the API's run now.

locals {
  environment = merge(var.runtime.environment, { JOB_NAME = var.job_name })
}

resource "google_cloudfunctions2_function" "function" {
  project     = var.runtime.project_id
  location    = var.runtime.region
  name        = var.function_name
  description = var.job_description

  build_config {
    runtime     = var.function_runtime
    entry_point = var.function_entry_point
    source {
      storage_source {
        bucket = var.source_bucket
        object = var.source_object
      }
    }
  }

  service_config {
    available_memory                 = "${var.function_available_memory_mb}M"
    timeout_seconds                  = var.function_timeout_s
    max_instance_count               = var.max_instance_count
    max_instance_request_concurrency = 1
    ingress_settings                 = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision   = true
    service_account_email            = var.service_account_email
    vpc_connector                    = var.runtime.vpc_connector
    vpc_connector_egress_settings    = "PRIVATE_RANGES_ONLY"
    environment_variables            = local.environment

    dynamic "secret_environment_variables" {
      for_each = var.secret_environment_variables
      content {
        key        = secret_environment_variables.key
        project_id = var.runtime.project_id
        secret     = secret_environment_variables.value
        version    = "latest"
      }
    }

    dynamic "secret_volumes" {
      for_each = var.secret_files
      content {
        mount_path = dirname(secret_volumes.key)
        project_id = var.runtime.project_id
        secret     = secret_volumes.value
        versions {
          path    = basename(secret_volumes.key)
          version = "latest"
        }
      }
    }
  }

  event_trigger {
    trigger_region        = var.runtime.region
    event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
    pubsub_topic          = var.topic_id
    retry_policy          = "RETRY_POLICY_RETRY"
    service_account_email = var.service_account_email
  }
}

# The trigger may invoke the function; nobody else.
resource "google_cloud_run_service_iam_member" "invoker" {
  project  = var.runtime.project_id
  location = var.runtime.region
  service  = google_cloudfunctions2_function.function.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${var.service_account_email}"
}

# The Eventarc-managed push subscription cannot be configured through the function
# resource: give it the manifest's redelivery backoff, delivery attempts and dead-letter
# topic once it exists (gcloud, as the platform engineer running apply is authenticated).
resource "terraform_data" "dead_letter_policy" {
  triggers_replace = [
    google_cloudfunctions2_function.function.event_trigger[0].trigger,
    var.dead_letter_topic_id, var.max_attempts, var.min_backoff_s, var.max_backoff_s,
  ]

  provisioner "local-exec" {
    interpreter = ["/bin/bash", "-c"]
    command     = file("${path.module}/../../scripts/dead-letter-policy.sh")
    environment = {
      TRIGGER     = google_cloudfunctions2_function.function.event_trigger[0].trigger
      REGION      = var.runtime.region
      PROJECT     = var.runtime.project_id
      DEAD_LETTER = var.dead_letter_topic_id
      ATTEMPTS    = max(5, var.max_attempts)
      MIN_BACKOFF = "${var.min_backoff_s}s"
      MAX_BACKOFF = "${var.max_backoff_s}s"
    }
  }
}
