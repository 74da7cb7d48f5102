-- Anomalies remember the severity they were last alerted at (an escalation alerts again);
-- deliveries that gave up after the retry budget are marked dead_lettered.
ALTER TABLE anomalies ADD COLUMN IF NOT EXISTS alerted_severity text;
ALTER TABLE alert_deliveries DROP CONSTRAINT IF EXISTS alert_deliveries_status_check;
ALTER TABLE alert_deliveries ADD CONSTRAINT alert_deliveries_status_check
    CHECK (status IN ('delivered', 'failed', 'dead_lettered'));
