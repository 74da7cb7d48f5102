# The warehouse dataset and its tables, from abbanoa/warehouse/tables.yaml and the JSON
# schema files the code uses: one definition, two readers.

resource "google_bigquery_dataset" "warehouse" {
  #checkov:skip=CKV_GCP_81:Google-managed encryption; a customer-managed key (Cloud KMS) is a per-utility compliance choice, add default_encryption_configuration when required
  project                    = var.project_id
  dataset_id                 = var.dataset_id
  location                   = var.location
  description                = "Abbanoa water network warehouse: raw readings, registry, quarantine."
  delete_contents_on_destroy = false
}

resource "google_bigquery_table" "tables" {
  #checkov:skip=CKV_GCP_80:Google-managed encryption, as for the dataset (CKV_GCP_81)
  #checkov:skip=CKV_GCP_121:deletion protection is a variable (true in prod, false in dev so a dev project can be torn down)
  for_each            = var.tables
  project             = var.project_id
  dataset_id          = google_bigquery_dataset.warehouse.dataset_id
  table_id            = each.key
  description         = each.value.description
  schema              = file("${var.warehouse_dir}/${each.value.schema}")
  clustering          = try(each.value.clustering, null)
  deletion_protection = var.deletion_protection

  dynamic "time_partitioning" {
    for_each = try([each.value.time_partitioning], [])
    content {
      type          = time_partitioning.value.type
      field         = time_partitioning.value.field
      expiration_ms = var.raw_partition_expiration_days > 0 ? var.raw_partition_expiration_days * 86400000 : null
    }
  }
}
