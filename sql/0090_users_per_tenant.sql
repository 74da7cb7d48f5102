-- Usernames are unique per tenant, not platform-wide (a tenant's admin must not learn
-- another tenant's usernames through "already taken"); the platform operator role; and the
-- time before which a user's tokens are void (set by a password change: other sessions end).

ALTER TABLE users DROP CONSTRAINT IF EXISTS users_username_key;
CREATE UNIQUE INDEX IF NOT EXISTS users_tenant_username ON users (tenant_id, username);

ALTER TABLE users DROP CONSTRAINT IF EXISTS users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('viewer', 'operator', 'admin', 'platform_operator'));

ALTER TABLE users ADD COLUMN IF NOT EXISTS tokens_valid_after timestamptz;
