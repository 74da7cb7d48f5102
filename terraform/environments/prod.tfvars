# Production: HA database and cache, warm instances, protected from destroy.
project_id              = "abbanoa-prod"
region                  = "europe-west8"
deletion_protection     = true
db_tier                 = "db-custom-2-7680"
db_disk_size_gb         = 100
db_high_availability    = true
redis_tier              = "STANDARD_HA"
redis_memory_size_gb    = 2
api_image               = "europe-west8-docker.pkg.dev/abbanoa-prod/abbanoa-images/api:1.0.0"
dashboard_image         = "europe-west8-docker.pkg.dev/abbanoa-prod/abbanoa-images/dashboard:1.0.0"
jobs_image              = "europe-west8-docker.pkg.dev/abbanoa-prod/abbanoa-images/functions:1.0.0"
api_min_instances       = 1
api_max_instances       = 10
dashboard_min_instances = 1
dashboard_max_instances = 4
log_level               = "INFO"
alert_emails            = ["oncall@example.org"]
# false on the first apply; true once etl_init has run (terraform/README.md)
schedules_enabled = false
