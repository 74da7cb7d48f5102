bucket = "abbanoa-prod-tfstate"
prefix = "abbanoa/prod"
