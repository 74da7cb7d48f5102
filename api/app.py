"""Flask app factory: settings and stores, then each concern's `init_app` (as flaskr does)."""

from __future__ import annotations

from flask import Flask

from abbanoa.auth import tokens
from abbanoa.settings import Settings, get_settings
from abbanoa.stores import cache as cache_module
from abbanoa.stores import postgres
from api import errors, hooks, metrics, security
from api.views import BLUEPRINTS


def create_app(settings: Settings | None = None) -> Flask:
    """The API: blueprints, JSON errors, request screening, security headers, metrics."""
    settings = settings or get_settings()
    tokens.secret(settings)  # the API signs tokens: in production it does not start without JWT_SECRET
    app = Flask(__name__, static_folder=None)
    app.config.update(
        ABBANOA_SETTINGS=settings,
        ABBANOA_ENGINE=postgres.engine(settings),
        ABBANOA_CACHE=cache_module.Cache(settings),
        JSON_SORT_KEYS=False,
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    metrics.init_app(app)
    hooks.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    for bp in BLUEPRINTS:
        app.register_blueprint(bp)
    return app
