"""Job runs and users (administration of one's own tenant)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from abbanoa.auth import PLATFORM_OPERATOR, PLATFORM_TENANT, TENANT_ROLES
from abbanoa.repository.common import InvalidParameter, one_row, row_dict

USER_COLUMNS = "user_id, tenant_id, username, role, active, created_at, updated_at"


# What a tenant's user sees of a platform job's run: whether and when it ran (the freshness
# of their data). Counts, watermarks' details and error texts are the platform's (they span
# every tenant) and are for the platform operator only.
TENANT_RUN_COLUMNS = (
    "run_id, job_name, trigger, NULL AS event_id, status, started_at, finished_at, NULL AS rows_processed, "
    "NULL AS watermark_before, NULL AS watermark_after, NULL AS error"
)
PLATFORM_RUN_COLUMNS = (
    "run_id, job_name, trigger, event_id, status, started_at, finished_at, rows_processed, "
    "watermark_before, watermark_after, error"
)


def list_job_runs(
    conn: sa.Connection,
    tenant_id: str,
    job_name: str | None = None,
    limit: int = 50,
    event_id: str | None = None,
) -> list[dict]:
    """Recent job runs, newest first (`event_id`: the Pub/Sub message that started the run).
    Jobs are platform-wide: the platform operator (PLATFORM_TENANT) sees every column; a
    tenant's user the same keys with the platform's figures null (TENANT_RUN_COLUMNS)."""
    columns = PLATFORM_RUN_COLUMNS if tenant_id == PLATFORM_TENANT else TENANT_RUN_COLUMNS
    p: dict[str, Any] = {"lim": limit, "n": job_name, "e": event_id}
    rows = conn.execute(
        sa.text(
            f"SELECT {columns} FROM job_runs WHERE (CAST(:n AS text) IS NULL OR job_name = :n) "
            "AND (CAST(:e AS text) IS NULL OR event_id = :e) ORDER BY started_at DESC, run_id DESC LIMIT :lim"
        ),
        p,
    ).all()
    return [row_dict(r) for r in rows]


def user_for_login(conn: sa.Connection, tenant_id: str, username: str) -> dict[str, Any] | None:
    """The user row with its password hash (login only; usernames are unique per tenant)."""
    row = conn.execute(
        sa.text(f"SELECT {USER_COLUMNS}, password_hash FROM users WHERE tenant_id = :t AND username = :u"),
        {"t": tenant_id, "u": username},
    ).first()
    return dict(row._mapping) if row else None


def password_hash(conn: sa.Connection, tenant_id: str, user_id: int) -> str | None:
    return conn.execute(
        sa.text("SELECT password_hash FROM users WHERE tenant_id = :t AND user_id = :id"),
        {"t": tenant_id, "id": user_id},
    ).scalar()


def auth_user(conn: sa.Connection, tenant_id: str, user_id: int) -> dict[str, Any]:
    """The user row and `tokens_valid_after` (epoch seconds or None): what a token is checked against."""
    user = get_user(conn, tenant_id, user_id)
    after = conn.execute(
        sa.text("SELECT extract(epoch FROM tokens_valid_after) FROM users WHERE tenant_id = :t AND user_id = :id"),
        {"t": tenant_id, "id": user_id},
    ).scalar()
    return {**user, "tokens_valid_after": None if after is None else float(after)}


def set_password(conn: sa.Connection, tenant_id: str, user_id: int, new_hash: str, tokens_valid_after) -> None:
    """Store a new password hash; tokens issued before `tokens_valid_after` become void."""
    conn.execute(
        sa.text(
            "UPDATE users SET password_hash = :h, tokens_valid_after = :after, updated_at = now() "
            "WHERE tenant_id = :t AND user_id = :id"
        ),
        {"h": new_hash, "after": tokens_valid_after, "t": tenant_id, "id": user_id},
    )


def get_user(conn: sa.Connection, tenant_id: str, user_id: int) -> dict[str, Any]:
    return one_row(
        conn,
        f"SELECT {USER_COLUMNS} FROM users WHERE tenant_id = :t AND user_id = :id",
        {"t": tenant_id, "id": user_id},
        f"user {user_id} not found",
    )


def list_users(conn: sa.Connection, tenant_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.text(f"SELECT {USER_COLUMNS} FROM users WHERE tenant_id = :t ORDER BY username"), {"t": tenant_id}
    ).all()
    return [row_dict(r) for r in rows]


def check_role(tenant_id: str, role: str) -> None:
    """Tenant roles in a tenant; only the platform operator in PLATFORM_TENANT."""
    allowed = (PLATFORM_OPERATOR,) if tenant_id == PLATFORM_TENANT else TENANT_ROLES
    if role not in allowed:
        raise InvalidParameter("role", f"must be one of {', '.join(allowed)}")


def create_user(conn: sa.Connection, tenant_id: str, username: str, password_hash: str, role: str) -> dict:
    check_role(tenant_id, role)
    if not username or len(username) > 64 or not username.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise InvalidParameter("username", "1-64 letters, digits, '.', '_' or '-'")
    taken = conn.execute(
        sa.text("SELECT 1 FROM users WHERE tenant_id = :t AND username = :u"), {"t": tenant_id, "u": username}
    ).scalar()
    if taken:
        raise InvalidParameter("username", "already taken")
    user_id = conn.execute(
        sa.text(
            "INSERT INTO users (tenant_id, username, password_hash, role) VALUES (:t, :u, :h, :r) RETURNING user_id"
        ),
        {"t": tenant_id, "u": username, "h": password_hash, "r": role},
    ).scalar()
    return get_user(conn, tenant_id, user_id)


def update_user(
    conn: sa.Connection, tenant_id: str, user_id: int, role: str | None = None, active: bool | None = None
) -> dict[str, Any]:
    get_user(conn, tenant_id, user_id)
    if role is not None:
        check_role(tenant_id, role)
    conn.execute(
        sa.text(
            "UPDATE users SET role = COALESCE(:r, role), active = COALESCE(:a, active), updated_at = now() "
            "WHERE tenant_id = :t AND user_id = :id"
        ),
        {"r": role, "a": active, "t": tenant_id, "id": user_id},
    )
    return get_user(conn, tenant_id, user_id)


def ensure_tenant(conn: sa.Connection, tenant_id: str, name: str | None = None) -> None:
    conn.execute(
        sa.text("INSERT INTO tenants (tenant_id, name) VALUES (:t, :n) ON CONFLICT (tenant_id) DO NOTHING"),
        {"t": tenant_id, "n": name or tenant_id},
    )
