-- Events, not rows (issue 16): who owns an anomaly, why it was resolved (an operator, or the
-- system once its condition had cleared for a set time), the estimated flow and volume lost
-- of a leak or burst, and the history of who did what when.
ALTER TABLE anomalies ADD COLUMN IF NOT EXISTS assigned_to text;
ALTER TABLE anomalies ADD COLUMN IF NOT EXISTS resolution text;
ALTER TABLE anomalies ADD COLUMN IF NOT EXISTS estimated_flow_l_s double precision;
ALTER TABLE anomalies ADD COLUMN IF NOT EXISTS estimated_volume_m3 double precision;

CREATE TABLE IF NOT EXISTS anomaly_events (
    event_id    bigserial PRIMARY KEY,
    anomaly_id  bigint NOT NULL REFERENCES anomalies (anomaly_id) ON DELETE CASCADE,
    tenant_id   text NOT NULL REFERENCES tenants (tenant_id),
    at          timestamptz NOT NULL,
    actor       text NOT NULL,                       -- a username, or 'system'
    action      text NOT NULL CHECK (action IN ('acknowledge', 'resolve', 'auto_resolve', 'reopen', 'assign', 'comment')),
    note        text
);
CREATE INDEX IF NOT EXISTS anomaly_events_anomaly_idx ON anomaly_events (anomaly_id, at);
