"""gunicorn entry point: `gunicorn -w 2 -b 127.0.0.1:8000 api.wsgi:app`."""

from api.app import create_app

app = create_app()
