"""Cloud Function entry points (functions-framework). Thin: parse the event, call the package."""

from __future__ import annotations

import functions_framework

from abbanoa.settings import get_settings


@functions_framework.cloud_event
def notify_alert(cloud_event):
    """Alert topic subscriber: deliver the alert to the configured webhooks (raises to retry)."""
    from abbanoa.alerts.notifier import decode_message, deliver

    body, attributes = decode_message(cloud_event.data)
    deliver(body, attributes, get_settings())
