-- Import (issue 3): the quarantine records which tenant's import rejected a row, so a
-- tenant's users see only their own rejected rows.
ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS tenant_id text;
CREATE INDEX IF NOT EXISTS quarantine_tenant_idx ON quarantine (tenant_id, quarantined_at);
