output "run_job_name" {
  description = "Name of the Cloud Run job (monitoring filters on resource.labels.job_name)."
  value       = google_cloud_run_v2_job.job.name
}

output "workflow_name" {
  description = "Name of the workflow that runs the job for each topic message."
  value       = google_workflows_workflow.run.name
}

output "trigger" {
  description = "How the job runs: run_job (Cloud Run job started by a workflow)."
  value       = "run_job"
}
