# Development: smallest sizes, scale to zero, no HA, deletable.
project_id              = "abbanoa-dev"
region                  = "europe-west8"
deletion_protection     = false
db_tier                 = "db-custom-1-3840"
db_disk_size_gb         = 20
db_high_availability    = false
redis_tier              = "BASIC"
redis_memory_size_gb    = 1
api_image               = "europe-west8-docker.pkg.dev/abbanoa-dev/abbanoa-images/api:dev"
dashboard_image         = "europe-west8-docker.pkg.dev/abbanoa-dev/abbanoa-images/dashboard:dev"
jobs_image              = "europe-west8-docker.pkg.dev/abbanoa-dev/abbanoa-images/functions:dev"
api_min_instances       = 0
api_max_instances       = 3
dashboard_min_instances = 0
dashboard_max_instances = 2
log_level               = "DEBUG"
alert_emails            = []
# false on the first apply; true once etl_init has run (terraform/README.md)
schedules_enabled = false
