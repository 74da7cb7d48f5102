"""gunicorn entry point: `gunicorn -w 2 -b 127.0.0.1:8000 api.wsgi:app`.

Behind Cloud Run's front end (or nginx locally) the client address arrives in
X-Forwarded-For; ProxyFix trusts exactly one hop, so the login rate limit counts the
real client, not the proxy, and a client cannot forge its address past that hop.
"""

from werkzeug.middleware.proxy_fix import ProxyFix

from api import create_app

app = create_app()
app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
