output "job_emails" {
  description = "Job name -> its function's service account email."
  value       = { for name, sa in google_service_account.job : name => sa.email }
}

output "api_email" {
  description = "API service account email."
  value       = google_service_account.component["api"].email
}

output "dashboard_email" {
  description = "Dashboard service account email."
  value       = google_service_account.component["dashboard"].email
}

output "notifier_email" {
  description = "Notifier function service account email."
  value       = google_service_account.component["notifier"].email
}

output "scheduler_email" {
  description = "Account Cloud Scheduler signs OIDC tokens with for HTTP jobs."
  value       = google_service_account.component["scheduler"].email
}

output "all_emails" {
  description = "Every runtime service account (secret accessors, image readers)."
  value       = values(local.account_emails)
}
