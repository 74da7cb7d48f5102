"""Job runs and users (administration of one's own tenant)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from abbanoa.repository.common import InvalidParameter, one_row, row_dict

ROLES = ("viewer", "operator", "admin")
USER_COLUMNS = "user_id, tenant_id, username, role, active, created_at, updated_at"


def list_job_runs(conn: sa.Connection, tenant_id: str, job_name: str | None = None, limit: int = 50) -> list[dict]:
    """Recent job runs. Jobs are platform-wide (they process every tenant); `tenant_id` is taken
    for a uniform interface and the runs carry no tenant data beyond counts."""
    p: dict[str, Any] = {"lim": limit}
    cond = ""
    if job_name is not None:
        cond = "WHERE job_name = :n"
        p["n"] = job_name
    rows = conn.execute(
        sa.text(
            "SELECT run_id, job_name, trigger, status, started_at, finished_at, rows_processed, "
            f"watermark_before, watermark_after, error FROM job_runs {cond} ORDER BY started_at DESC, run_id DESC "
            "LIMIT :lim"
        ),
        p,
    ).all()
    return [row_dict(r) for r in rows]


def user_for_login(conn: sa.Connection, username: str) -> dict[str, Any] | None:
    """The user row with its password hash (login only; usernames are unique platform-wide)."""
    row = conn.execute(
        sa.text(f"SELECT {USER_COLUMNS}, password_hash FROM users WHERE username = :u"), {"u": username}
    ).first()
    return dict(row._mapping) if row else None


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


def create_user(conn: sa.Connection, tenant_id: str, username: str, password_hash: str, role: str) -> dict:
    if role not in ROLES:
        raise InvalidParameter("role", f"must be one of {', '.join(ROLES)}")
    if not username or len(username) > 64 or not username.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise InvalidParameter("username", "1-64 letters, digits, '.', '_' or '-'")
    taken = conn.execute(sa.text("SELECT 1 FROM users WHERE username = :u"), {"u": username}).scalar()
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
    if role is not None and role not in ROLES:
        raise InvalidParameter("role", f"must be one of {', '.join(ROLES)}")
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
