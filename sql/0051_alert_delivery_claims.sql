-- Alert deliveries are claimed before the POST (issue 21): one claim per alert and
-- webhook, `sending` until `claimed_until`; a claim older than that (its holder died) is
-- taken again. A POST whose answer never came (read timeout) is `unconfirmed`: the
-- webhook may have acted on it, so it is not posted again.
ALTER TABLE alert_deliveries ADD COLUMN IF NOT EXISTS claimed_until timestamptz;
ALTER TABLE alert_deliveries DROP CONSTRAINT IF EXISTS alert_deliveries_status_check;
ALTER TABLE alert_deliveries ADD CONSTRAINT alert_deliveries_status_check
    CHECK (status IN ('sending', 'delivered', 'failed', 'dead_lettered', 'unconfirmed'));
