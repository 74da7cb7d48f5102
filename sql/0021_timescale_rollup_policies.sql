-- TimescaleDB only (a no-op on plain PostgreSQL / Cloud SQL): the rollups of 0003 are
-- continuous aggregates there, which the database keeps, so the sync jobs must not write
-- them (abbanoa.jobs.rollups leaves them alone when they are views). Here they get what
-- keeps them right without the jobs:
-- - real-time aggregation (materialized_only = false): a query sees the materialized
--   buckets plus the newest readings aggregated on the fly, so the newest hour is there;
-- - refresh policies over the last 390 days: TimescaleDB recomputes only the buckets its
--   invalidation log marks, so a late or re-imported reading reaches its bucket at the next
--   run (5 min, 15 min, 1 h). The window stays inside the raw readings' 400-day retention
--   (0003): refreshing a range whose readings were dropped would empty its buckets;
--   older buckets stay as materialized;
-- - retention at the RETENTION_ROLLUP_DAYS default (1825 days), as weekly_cleanup does
--   for the tables on plain PostgreSQL; a different setting means altering these policies
--   (the setting is read by weekly_cleanup, which leaves continuous aggregates alone).
-- Untested here: no TimescaleDB package exists for this machine (see docs/jobs.md).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')
       AND EXISTS (SELECT 1 FROM pg_class WHERE oid = to_regclass('readings_5m') AND relkind = 'v') THEN
        EXECUTE 'ALTER MATERIALIZED VIEW readings_5m SET (timescaledb.materialized_only = false)';
        EXECUTE 'ALTER MATERIALIZED VIEW readings_1h SET (timescaledb.materialized_only = false)';
        EXECUTE 'ALTER MATERIALIZED VIEW readings_1d SET (timescaledb.materialized_only = false)';
        PERFORM add_continuous_aggregate_policy('readings_5m', start_offset => INTERVAL '390 days',
            end_offset => INTERVAL '5 minutes', schedule_interval => INTERVAL '5 minutes', if_not_exists => true);
        PERFORM add_continuous_aggregate_policy('readings_1h', start_offset => INTERVAL '390 days',
            end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '15 minutes', if_not_exists => true);
        PERFORM add_continuous_aggregate_policy('readings_1d', start_offset => INTERVAL '390 days',
            end_offset => INTERVAL '1 day', schedule_interval => INTERVAL '1 hour', if_not_exists => true);
        PERFORM add_retention_policy('readings_5m', INTERVAL '1825 days', if_not_exists => true);
        PERFORM add_retention_policy('readings_1h', INTERVAL '1825 days', if_not_exists => true);
        PERFORM add_retention_policy('readings_1d', INTERVAL '1825 days', if_not_exists => true);
    END IF;
END
$$;
