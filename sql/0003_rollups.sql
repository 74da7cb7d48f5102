-- Rollups: 5-minute, hourly and daily (Europe/Rome local days) aggregates with the same
-- columns everywhere: node_id, metric, bucket, n, sum_value, min_value, max_value, avg_value.
-- Plain PostgreSQL: tables refreshed incrementally by the sync jobs for the buckets they
-- touch (abbanoa.jobs.rollups). TimescaleDB: continuous aggregates of the same name.

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        EXECUTE $v$
            CREATE MATERIALIZED VIEW IF NOT EXISTS readings_5m WITH (timescaledb.continuous) AS
            SELECT node_id, metric, time_bucket('5 minutes', ts) AS bucket, count(*)::integer AS n,
                   sum(value) AS sum_value, min(value) AS min_value, max(value) AS max_value,
                   avg(value) AS avg_value
            FROM readings GROUP BY node_id, metric, time_bucket('5 minutes', ts) WITH NO DATA $v$;
        EXECUTE $v$
            CREATE MATERIALIZED VIEW IF NOT EXISTS readings_1h WITH (timescaledb.continuous) AS
            SELECT node_id, metric, time_bucket('1 hour', ts) AS bucket, count(*)::integer AS n,
                   sum(value) AS sum_value, min(value) AS min_value, max(value) AS max_value,
                   avg(value) AS avg_value
            FROM readings GROUP BY node_id, metric, time_bucket('1 hour', ts) WITH NO DATA $v$;
        EXECUTE $v$
            CREATE MATERIALIZED VIEW IF NOT EXISTS readings_1d WITH (timescaledb.continuous) AS
            SELECT node_id, metric, time_bucket('1 day', ts, 'Europe/Rome') AS bucket,
                   count(*)::integer AS n, sum(value) AS sum_value, min(value) AS min_value,
                   max(value) AS max_value, avg(value) AS avg_value
            FROM readings GROUP BY node_id, metric, time_bucket('1 day', ts, 'Europe/Rome')
            WITH NO DATA $v$;
        ALTER TABLE readings SET (timescaledb.compress, timescaledb.compress_segmentby = 'node_id, metric');
        PERFORM add_compression_policy('readings', interval '7 days', if_not_exists => true);
        PERFORM add_retention_policy('readings', interval '400 days', if_not_exists => true);
    ELSE
        CREATE TABLE IF NOT EXISTS readings_5m (
            node_id text NOT NULL, metric text NOT NULL, bucket timestamptz NOT NULL,
            n integer NOT NULL, sum_value double precision NOT NULL,
            min_value double precision NOT NULL, max_value double precision NOT NULL,
            avg_value double precision NOT NULL,
            PRIMARY KEY (node_id, metric, bucket));
        CREATE TABLE IF NOT EXISTS readings_1h (LIKE readings_5m INCLUDING ALL);
        CREATE TABLE IF NOT EXISTS readings_1d (LIKE readings_5m INCLUDING ALL);
    END IF;
END
$$;
