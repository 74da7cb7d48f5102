"""gunicorn entry point: `gunicorn -w 2 -b 127.0.0.1:8000 api.wsgi:app`.

Behind Cloud Run's front end (or nginx) the client address arrives in X-Forwarded-For:
set TRUSTED_PROXY_HOPS to the number of proxies that append to it (Cloud Run: 1), and the
app trusts exactly that many hops (api/hooks.py). Unset (0), the header is ignored.
"""

from api import create_app

app = create_app()
