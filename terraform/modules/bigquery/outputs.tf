output "dataset_id" {
  description = "The warehouse dataset id."
  value       = google_bigquery_dataset.warehouse.dataset_id
}

output "table_ids" {
  description = "Table name -> fully qualified table id."
  value       = { for name, table in google_bigquery_table.tables : name => table.id }
}
