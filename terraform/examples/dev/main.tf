# A minimal development deployment: the platform root module with the smallest sizes,
# scale to zero, no HA, deletable, schedules paused until the bootstrap (the shape of
# terraform-google-modules' examples/). From this directory:
#   terraform init && terraform apply -var project_id=<dev project> -var image_tag=<tag>
# (state stays local here; the environments/ of the root use a GCS backend).

locals {
  registry = "${var.region}-docker.pkg.dev/${var.project_id}/abbanoa-images"
}

module "platform" {
  source = "../.."

  project_id              = var.project_id
  region                  = var.region
  deletion_protection     = false
  db_tier                 = "db-custom-1-3840"
  db_disk_size_gb         = 20
  db_high_availability    = false
  redis_tier              = "BASIC"
  redis_memory_size_gb    = 1
  api_image               = "${local.registry}/api:${var.image_tag}"
  dashboard_image         = "${local.registry}/dashboard:${var.image_tag}"
  jobs_image              = "${local.registry}/functions:${var.image_tag}"
  api_min_instances       = 0
  api_max_instances       = 2
  dashboard_min_instances = 0
  dashboard_max_instances = 1
  forecast_backend        = "local"
  log_level               = "DEBUG"
  function_source_archive = var.function_source_archive
  schedules_enabled       = var.schedules_enabled
}
