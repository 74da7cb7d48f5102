"""Adapters that each own one store: PostgreSQL, Redis, BigQuery, Pub/Sub."""
