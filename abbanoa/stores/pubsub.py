"""Pub/Sub: topics and publishing, the emulator locally (PUBSUB_EMULATOR_HOST)."""

from __future__ import annotations

import json
import os
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import pubsub_v1

from abbanoa.errors import ServiceUnavailable
from abbanoa.settings import Settings, get_settings

_publishers: dict[str, pubsub_v1.PublisherClient] = {}


def _apply_emulator(settings: Settings) -> None:
    # The Google client reads the emulator address from the environment only.
    if settings.pubsub_emulator_host:
        os.environ["PUBSUB_EMULATOR_HOST"] = settings.pubsub_emulator_host
    else:
        os.environ.pop("PUBSUB_EMULATOR_HOST", None)


def publisher(settings: Settings | None = None) -> pubsub_v1.PublisherClient:
    settings = settings or get_settings()
    key = settings.pubsub_emulator_host or "google"
    if key not in _publishers:
        _apply_emulator(settings)
        _publishers[key] = pubsub_v1.PublisherClient()
    return _publishers[key]


def subscriber(settings: Settings | None = None) -> pubsub_v1.SubscriberClient:
    settings = settings or get_settings()
    _apply_emulator(settings)
    return pubsub_v1.SubscriberClient()


def topic_path(topic: str, settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    return f"projects/{settings.gcp_project}/topics/{topic}"


def ensure_topic(topic: str, settings: Settings | None = None) -> str:
    """Create a topic if it does not exist (local; Terraform owns them in production)."""
    settings = settings or get_settings()
    path = topic_path(topic, settings)
    try:
        publisher(settings).create_topic(request={"name": path}, timeout=10)
    except gexc.AlreadyExists:
        pass
    except gexc.GoogleAPICallError as exc:
        raise ServiceUnavailable(f"Pub/Sub ({settings.pubsub_emulator_host or 'Google'}): {exc.message}") from exc
    return path


def publish_json(
    topic: str,
    body: Any,
    attributes: dict[str, str] | None = None,
    settings: Settings | None = None,
    timeout_s: float = 30.0,
) -> str:
    """Publish a JSON body with string attributes; returns the message id."""
    settings = settings or get_settings()
    data = json.dumps(body, default=str).encode()
    future = publisher(settings).publish(
        topic_path(topic, settings), data, **{k: str(v) for k, v in (attributes or {}).items()}
    )
    return future.result(timeout=timeout_s)
