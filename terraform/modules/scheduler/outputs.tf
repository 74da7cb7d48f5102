output "scheduler_jobs" {
  description = "Job name -> Cloud Scheduler job name."
  value       = { for name, job in google_cloud_scheduler_job.job : name => job.name }
}
