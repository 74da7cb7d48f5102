bucket = "abbanoa-dev-tfstate"
prefix = "abbanoa/dev"
