output "job_emails" {
  description = "Job name -> its service account email."
  value       = local.job_emails
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

output "all_emails" {
  description = "Every runtime service account."
  value       = values(local.account_emails)
}
