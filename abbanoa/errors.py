"""Errors the platform raises on purpose, each with a message meant for a person."""


class AbbanoaError(Exception):
    """Base of the errors that the CLI prints as one line, without a traceback."""


class ConfigError(AbbanoaError):
    """A setting is missing or malformed."""


class ServiceUnavailable(AbbanoaError):
    """A store (PostgreSQL, Redis, BigQuery, Pub/Sub) cannot be reached."""
