"""`python -m abbanoa seed-demo`: demo users with random passwords (never fixed ones).

Creates tenant `abbanoa` users viewer/operator/admin, tenant `other` with its own admin,
and the platform operator (job control; logs in as `platform@_platform`), prints the
credentials and writes them to .local/demo-credentials.json. An existing demo user gets a
new random password. Refused when ABBANOA_ENV=production.
"""

from __future__ import annotations

import argparse
import json
import secrets
from pathlib import Path

from abbanoa.errors import AbbanoaError
from abbanoa.settings import Settings

HELP = "create demo users (random passwords, printed and written to .local/demo-credentials.json)"
CREDENTIALS = Path(".local") / "demo-credentials.json"
# key in the credentials file -> (username, tenant, role)
DEMO_USERS = {
    "viewer": ("viewer", "abbanoa", "viewer"),
    "operator": ("operator", "abbanoa", "operator"),
    "admin": ("admin", "abbanoa", "admin"),
    "other_admin": ("other-admin", "other", "admin"),
    "platform": ("platform", "_platform", "platform_operator"),  # abbanoa.auth.PLATFORM_*
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", type=Path, default=CREDENTIALS, help="credentials file (default %(default)s)")


def seed(settings: Settings, output: Path = CREDENTIALS) -> dict:
    import sqlalchemy as sa

    from abbanoa.auth.passwords import hash_password
    from abbanoa.repository import ops
    from abbanoa.stores import postgres

    if settings.env == "production":
        raise AbbanoaError("seed-demo refuses to run with ABBANOA_ENV=production")
    users = {}
    with postgres.transaction(settings) as conn:
        for key, (username, tenant_id, role) in DEMO_USERS.items():
            names = {"abbanoa": "Abbanoa", "_platform": "Platform operations (no data)"}
            ops.ensure_tenant(conn, tenant_id, names.get(tenant_id, "Other utility (demo)"))
            password = secrets.token_urlsafe(12)
            conn.execute(
                sa.text(
                    "INSERT INTO users (tenant_id, username, password_hash, role) VALUES (:t, :u, :h, :r) "
                    "ON CONFLICT (tenant_id, username) DO UPDATE SET password_hash = :h, role = :r, "
                    "active = true, updated_at = now()"
                ),
                {"t": tenant_id, "u": username, "h": hash_password(password), "r": role},
            )
            users[key] = {"username": username, "password": password, "tenant_id": tenant_id, "role": role}
    document = {"api_url": settings.api_url, "users": users}
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, indent=2) + "\n")
    output.chmod(0o600)
    return document


def run(args: argparse.Namespace, settings: Settings) -> int:
    document = seed(settings, args.output)
    print(f"Demo users (API {document['api_url']}); also written to {args.output}:")
    for key, user in document["users"].items():
        print(f"  {key:12} tenant={user['tenant_id']:8} username={user['username']:12} password={user['password']}")
    return 0


def webhook_receiver(port: int, log_path: Path, host: str = "127.0.0.1"):
    """The demo's stand-in for the utility's paging system: an HTTP server that answers 200
    to every POST (the notifier's deliveries), appends each body as one JSON line to
    `log_path`, and lists what it received on GET /. Returns the server (serve_forever())."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    log_path.parent.mkdir(parents=True, exist_ok=True)

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8", "replace")
            try:
                alert = json.loads(body)
            except ValueError:
                alert = {"raw": body}
            with open(log_path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps({"path": self.path, "alert": alert}) + "\n")
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"received\n")

        def do_GET(self):  # noqa: N802
            lines = log_path.read_text(encoding="utf-8").splitlines()[-50:] if log_path.exists() else []
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.end_headers()
            self.wfile.write(f"{len(lines)} alert(s) received (newest last)\n".encode() + "\n".join(lines).encode())

        def log_message(self, *args):  # quiet: the JSON lines are the log
            pass

    return ThreadingHTTPServer((host, port), Receiver)
