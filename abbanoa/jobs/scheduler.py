"""The local stand-in for Cloud Scheduler: it publishes to each job's topic on its cron
(Europe/Rome), through the Pub/Sub emulator, into the functions served by
functions-framework, as production does. It also creates the topics, dead-letter topics
and push subscriptions that Terraform creates in production.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import time
from zoneinfo import ZoneInfo

from croniter import croniter

from abbanoa.jobs import schedule
from abbanoa.settings import Settings

HELP = "fire the jobs on their crons through the Pub/Sub emulator (local Cloud Scheduler)"
log = logging.getLogger(__name__)


def dead_letter_topic(topic: str) -> str:
    return f"{topic}-dead-letter"


def push_endpoint(base_url: str, project: str, topic: str) -> str:
    # functions-framework turns the push into a CloudEvent whose source names the topic
    # only when the URL path carries it (see LOCAL.md)
    return f"{base_url.rstrip('/')}/projects/{project}/topics/{topic}"


def wire(settings: Settings, functions_url: str | None, notifier_url: str | None) -> list[str]:
    """Create every job topic, the alert topic, dead-letter topics and push subscriptions."""
    from google.api_core import exceptions as gexc

    from abbanoa.stores import pubsub

    sub = pubsub.subscriber(settings)
    made = []
    targets = [(spec.topic, functions_url, spec.max_attempts) for spec in schedule.jobs().values()]
    targets.append((settings.alert_topic, notifier_url, 5))
    for topic, url, attempts in targets:
        pubsub.ensure_topic(topic, settings)
        pubsub.ensure_topic(dead_letter_topic(topic), settings)
        if not url:
            continue
        name = sub.subscription_path(settings.gcp_project, f"{topic}-push")
        request = {
            "name": name,
            "topic": pubsub.topic_path(topic, settings),
            "push_config": {"push_endpoint": push_endpoint(url, settings.gcp_project, topic)},
            "ack_deadline_seconds": 600,
            "dead_letter_policy": {
                "dead_letter_topic": pubsub.topic_path(dead_letter_topic(topic), settings),
                "max_delivery_attempts": max(5, attempts),
            },
            "retry_policy": {"minimum_backoff": {"seconds": 10}, "maximum_backoff": {"seconds": 600}},
        }
        with contextlib.suppress(gexc.AlreadyExists):
            sub.create_subscription(request=request, timeout=10)
        made.append(name)
    sub.close()
    return made


def next_runs(now: dt.datetime, tz: str) -> list[tuple[dt.datetime, str]]:
    """(next fire time in UTC, job) for every scheduled job, soonest first."""
    local = now.astimezone(ZoneInfo(tz))
    upcoming = []
    for spec in schedule.jobs().values():
        if spec.cron:
            fire = croniter(spec.cron, local).get_next(dt.datetime)
            upcoming.append((fire.astimezone(dt.UTC), spec.name))
    return sorted(upcoming)


def fire(settings: Settings, job_name: str, scheduled_for: dt.datetime, timeout_s: float = 30.0) -> str:
    """Publish one run of the job to its topic (the scheduler's cron, the API's run-now); the message id."""
    from abbanoa.stores import pubsub

    spec = schedule.job(job_name)
    body = {"job": job_name, "scheduled_for": scheduled_for.isoformat()}
    return pubsub.publish_json(spec.topic, body, {"job": job_name}, settings, timeout_s=timeout_s)


def add_arguments(parser) -> None:
    parser.add_argument("--functions-url", help="base URL of the functions-framework server running job_pubsub")
    parser.add_argument("--notifier-url", help="base URL of the functions-framework server running notify_alert")
    parser.add_argument("--wire-only", action="store_true", help="create topics and subscriptions, then exit")


def run(args, settings: Settings) -> int:
    tz, _ = schedule.manifest()
    made = wire(settings, args.functions_url, args.notifier_url)
    print(json.dumps({"subscriptions": made}))
    if args.wire_only:
        return 0
    while True:
        now = dt.datetime.now(dt.UTC)
        upcoming = next_runs(now, tz)
        when = upcoming[0][0]
        time.sleep(max(0.0, (when - now).total_seconds()))
        for fire_at, name in upcoming:
            if fire_at == when:
                message_id = fire(settings, name, fire_at)
                log.info("fired %s (message %s)", name, message_id)
