# One long job (manifest timeout_s over the 540 s of an event-driven function): a Cloud Run
# job (`python -m abbanoa run-job NAME`, task timeout = timeout_s, up to 24 h) started by a
# workflow that an Eventarc trigger runs for every message on the job's topic (Cloud
# Scheduler's and the API's run now alike). Delivery and retries:
# - the message is acknowledged once the workflow execution exists; the trigger's
#   subscription retries with the manifest's backoff and dead-letters to <topic>-dead-letter
#   if the workflow cannot be started;
# - the workflow runs the job and waits for it; a failed execution is retried
#   max_attempts - 1 times with the manifest's backoff, then the message is published to
#   <topic>-dead-letter (kept by its pull subscription for inspection and replay) and the
#   workflow execution fails (alert policy long_job_failures).

locals {
  job_path = "projects/${var.runtime.project_id}/locations/${var.runtime.region}/jobs/${var.run_job_name}"
  workflow = {
    main = {
      params = ["event"]
      steps = [
        { init = { assign = [{ message = "$${map.get(event, [\"data\", \"message\"])}" }] } },
        {
          run = {
            try = {
              call = "googleapis.run.v2.projects.locations.jobs.run"
              args = {
                name             = local.job_path
                connector_params = { timeout = var.timeout_s + 600 }
              }
              result = "execution"
            }
            retry = {
              predicate   = "$${always}"
              max_retries = var.max_attempts - 1
              backoff = {
                initial_delay = var.min_backoff_s
                max_delay     = var.max_backoff_s
                multiplier    = 2
              }
            }
            except = {
              as = "error"
              steps = [
                {
                  dead_letter = {
                    call = "googleapis.pubsub.v1.projects.topics.publish"
                    args = {
                      topic = var.dead_letter_topic_id
                      body = {
                        messages = [{
                          data       = "$${default(map.get(message, \"data\"), base64.encode(text.encode(\"{}\")))}"
                          attributes = { job = var.job_name, error = "$${text.substring(json.encode_to_string(error), 0, 1000)}" }
                        }]
                      }
                    }
                  }
                },
                { fail = { raise = "$${error}" } },
              ]
            }
          }
        },
        { done = { return = "$${execution.name}" } },
      ]
    }
    # retry whatever failed: the job is idempotent and runs under its own lock
    always = {
      params = ["e"]
      steps  = [{ retry = { return = true } }]
    }
  }
}

resource "google_cloud_run_v2_job" "job" {
  project             = var.runtime.project_id
  location            = var.runtime.region
  name                = var.run_job_name
  deletion_protection = var.deletion_protection

  template {
    task_count = 1
    template {
      service_account = var.service_account_email
      timeout         = "${var.timeout_s}s"
      # retries belong to the workflow (the manifest's attempts and backoff)
      max_retries = 0

      vpc_access {
        connector = var.runtime.vpc_connector
        egress    = "PRIVATE_RANGES_ONLY"
      }

      containers {
        image   = var.image
        command = ["python", "-m", "abbanoa", "run-job", var.job_name]
        resources {
          limits = {
            cpu    = var.cpu
            memory = "${var.memory_mb}Mi"
          }
        }

        dynamic "env" {
          for_each = merge(var.runtime.environment, { JOB_NAME = var.job_name })
          content {
            name  = env.key
            value = env.value
          }
        }

        dynamic "env" {
          for_each = var.secret_environment_variables
          content {
            name = env.key
            value_source {
              secret_key_ref {
                secret  = env.value
                version = "latest"
              }
            }
          }
        }

        dynamic "volume_mounts" {
          for_each = var.secret_files
          content {
            name       = replace(trimprefix(dirname(volume_mounts.key), "/"), "/", "-")
            mount_path = dirname(volume_mounts.key)
          }
        }
      }

      dynamic "volumes" {
        for_each = var.secret_files
        content {
          name = replace(trimprefix(dirname(volumes.key), "/"), "/", "-")
          secret {
            secret = volumes.value
            items {
              path    = basename(volumes.key)
              version = "latest"
            }
          }
        }
      }
    }
  }
}

# The workflow (running as the job's account) may start this job and read its executions.
resource "google_cloud_run_v2_job_iam_member" "runner" {
  project  = var.runtime.project_id
  location = var.runtime.region
  name     = google_cloud_run_v2_job.job.name
  role     = "roles/run.developer"
  member   = "serviceAccount:${var.service_account_email}"
}

resource "google_pubsub_topic_iam_member" "dead_letter" {
  project = var.runtime.project_id
  topic   = var.dead_letter_topic_id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${var.service_account_email}"
}

resource "google_workflows_workflow" "run" {
  project         = var.runtime.project_id
  region          = var.runtime.region
  name            = var.run_job_name
  description     = "Runs the Cloud Run job ${var.run_job_name} for each message on its topic: ${var.job_description}"
  service_account = var.service_account_email
  call_log_level  = "LOG_ERRORS_ONLY"
  source_contents = yamlencode(local.workflow)
}

resource "google_eventarc_trigger" "topic" {
  project         = var.runtime.project_id
  location        = var.runtime.region
  name            = var.run_job_name
  service_account = var.service_account_email

  matching_criteria {
    attribute = "type"
    value     = "google.cloud.pubsub.topic.v1.messagePublished"
  }

  transport {
    pubsub {
      topic = var.topic_id
    }
  }

  destination {
    workflow = google_workflows_workflow.run.id
  }
}

# The trigger's subscription: the manifest's backoff and the dead-letter topic if the
# workflow cannot even be started (same script as the functions' subscriptions).
resource "terraform_data" "dead_letter_policy" {
  triggers_replace = [
    google_eventarc_trigger.topic.name,
    var.dead_letter_topic_id, var.max_attempts, var.min_backoff_s, var.max_backoff_s,
  ]

  provisioner "local-exec" {
    interpreter = ["/bin/bash", "-c"]
    command     = file("${path.module}/../../scripts/dead-letter-policy.sh")
    environment = {
      TRIGGER     = google_eventarc_trigger.topic.name
      REGION      = var.runtime.region
      PROJECT     = var.runtime.project_id
      DEAD_LETTER = var.dead_letter_topic_id
      ATTEMPTS    = max(5, var.max_attempts)
      MIN_BACKOFF = "${var.min_backoff_s}s"
      MAX_BACKOFF = "${var.max_backoff_s}s"
    }
  }
}
