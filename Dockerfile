# syntax=docker/dockerfile:1
# One image definition for the API, the dashboard and the functions / Cloud Run jobs: a
# shared base with the runtime dependencies only (requirements.txt pinned by
# constraints.txt; no test or lint tool) and the abbanoa package, then one target each.
# Build from the repository root:
#   docker build --target api -t .../api .
#   docker build --target dashboard -t .../dashboard .
#   docker build --target functions -t .../functions .   (functions-framework; the long
#                                      jobs run it as `python -m abbanoa run-job NAME`)
# Pinned base (exact Python and Debian release); the app runs as an unprivileged user.
FROM python:3.11.11-slim-bookworm AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app

WORKDIR /app
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app

# Dependencies first: a code change does not reinstall them.
COPY requirements.txt constraints.txt ./
RUN pip install --no-compile -r requirements.txt -c constraints.txt

COPY abbanoa/ abbanoa/
COPY sql/ sql/
USER app

# API: Flask under gunicorn, 2 workers x 4 threads = 8 requests at once (Terraform's
# api_concurrency is the same number); Cloud Run sets PORT.
FROM base AS api
COPY --chown=root:root api/ api/
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT', '8080')}/healthz\", timeout=4)"
ENV PORT=8080
CMD ["sh", "-c", "exec gunicorn --bind 0.0.0.0:${PORT} --workers 2 --threads 4 --timeout 60 --access-logfile - api.wsgi:app"]

# Dashboard: Streamlit, with the repository's .streamlit/config.toml (XSRF protection,
# secure cookies behind TLS, no usage statistics).
FROM base AS dashboard
COPY --chown=root:root dashboard/ dashboard/
COPY --chown=root:root .streamlit/ .streamlit/
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen(\"http://127.0.0.1:8501/_stcore/health\", timeout=4)"
CMD ["streamlit", "run", "dashboard/app.py", "--server.port=8501", "--server.address=0.0.0.0", "--server.headless=true"]

# Functions (functions-framework; FUNCTION_TARGET picks job_pubsub, job_http or
# notify_alert) and the local scheduler.
FROM base AS functions
COPY --chown=root:root functions/ functions/
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD python -c "import socket; socket.create_connection((\"127.0.0.1\", 8080), timeout=4).close()"
ENV FUNCTION_TARGET=job_pubsub
CMD ["sh", "-c", "exec functions-framework --source=functions/main.py --target=${FUNCTION_TARGET} --host=0.0.0.0 --port=8080"]
