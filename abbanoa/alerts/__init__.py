"""Alerts: idempotent publishing to the alert topic and the webhook notifier."""
