"""The HTTP API: `create_app(settings=None)`; see docs/api.md."""

from api.app import create_app

__all__ = ["create_app"]
