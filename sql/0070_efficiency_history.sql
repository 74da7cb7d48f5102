-- Network efficiency over the whole stored history (issue 16): each row says how many hours
-- of meter data it holds against the hours of its local period, whether it is partial (fewer
-- hours than the period has: the current day or month, or a gap), and how many meter
-- samples it was built from, so the job can find the days whose rollups changed since
-- (backfill once, then the tail) by comparing with readings_1d.
ALTER TABLE network_efficiency ADD COLUMN IF NOT EXISTS hours integer;
ALTER TABLE network_efficiency ADD COLUMN IF NOT EXISTS expected_hours integer;
ALTER TABLE network_efficiency ADD COLUMN IF NOT EXISTS samples bigint;
ALTER TABLE network_efficiency ADD COLUMN IF NOT EXISTS partial boolean NOT NULL DEFAULT false;
CREATE INDEX IF NOT EXISTS network_efficiency_period_idx ON network_efficiency (period, period_start);
