# A public Cloud Run service (API or dashboard): min/max instances, egress to the VPC
# (Cloud SQL, Redis) through the connector, its own secrets from Secret Manager as
# environment and files, probes. Concurrency is the server's own request slots (gunicorn
# workers x threads for the API); the dashboard keeps a websocket per browser session,
# hence a long request timeout and session affinity (docs/infra.md).

locals {
  environment = merge(var.runtime.environment, var.environment_overrides)
}

resource "google_cloud_run_v2_service" "service" {
  project             = var.runtime.project_id
  location            = var.runtime.region
  name                = var.name
  ingress             = "INGRESS_TRAFFIC_ALL"
  deletion_protection = var.deletion_protection

  template {
    service_account                  = var.service_account_email
    max_instance_request_concurrency = var.concurrency
    timeout                          = "${var.request_timeout_s}s"
    session_affinity                 = var.session_affinity

    scaling {
      min_instance_count = var.min_instances
      max_instance_count = var.max_instances
    }

    vpc_access {
      connector = var.runtime.vpc_connector
      egress    = "PRIVATE_RANGES_ONLY"
    }

    containers {
      image = var.image
      ports {
        container_port = var.port
      }
      resources {
        limits = {
          cpu    = var.cpu
          memory = var.memory
        }
        cpu_idle = true
      }

      dynamic "env" {
        for_each = local.environment
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
          # one volume per secret directory (two files named server-ca.pem must not clash)
          name       = replace(trimprefix(dirname(volume_mounts.key), "/"), "/", "-")
          mount_path = dirname(volume_mounts.key)
        }
      }

      startup_probe {
        http_get {
          path = var.health_path
        }
        period_seconds    = 5
        failure_threshold = 12
      }

      liveness_probe {
        http_get {
          path = var.health_path
        }
        period_seconds = 30
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

resource "google_cloud_run_v2_service_iam_member" "public" {
  # public by design (DESIGN.md: "API and dashboard are public, behind authentication"):
  # the app checks a JWT on every route but health and login (/metrics: a bearer token)
  count    = var.public ? 1 : 0
  project  = var.runtime.project_id
  location = var.runtime.region
  name     = google_cloud_run_v2_service.service.name
  role     = "roles/run.invoker"
  member   = "allUsers"
}
