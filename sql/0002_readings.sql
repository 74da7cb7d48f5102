-- Readings, time-partitioned. Plain PostgreSQL (Cloud SQL): native declarative range
-- partitions, one per UTC day, created ahead by ensure_readings_partitions().
-- With TimescaleDB present, 0003 turns the same table into a hypertable instead.

CREATE OR REPLACE FUNCTION abbanoa_has_timescaledb() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')
$$;

DO $$
BEGIN
    IF abbanoa_has_timescaledb() THEN
        CREATE EXTENSION IF NOT EXISTS timescaledb;
        CREATE TABLE IF NOT EXISTS readings (
            node_id      text NOT NULL,
            metric       text NOT NULL,
            ts           timestamptz NOT NULL,
            value        double precision NOT NULL,
            ingested_at  timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (node_id, metric, ts)
        );
        PERFORM create_hypertable('readings', 'ts', chunk_time_interval => interval '1 day',
                                  if_not_exists => true);
    ELSE
        CREATE TABLE IF NOT EXISTS readings (
            node_id      text NOT NULL,
            metric       text NOT NULL,
            ts           timestamptz NOT NULL,
            value        double precision NOT NULL,
            ingested_at  timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (node_id, metric, ts)
        ) PARTITION BY RANGE (ts);
    END IF;
END
$$;

-- The primary key (node_id, metric, ts) serves "range per node + metric" and, scanned
-- backwards, "latest per node + metric". latest_readings keeps the newest value of
-- every series so "latest per node" never scans readings.
CREATE TABLE IF NOT EXISTS latest_readings (
    node_id  text NOT NULL,
    metric   text NOT NULL,
    ts       timestamptz NOT NULL,
    value    double precision NOT NULL,
    PRIMARY KEY (node_id, metric)
);

-- Create the missing daily partitions covering [from_ts, to_ts] (UTC days).
-- Idempotent; a no-op under TimescaleDB, whose chunks appear by themselves.
CREATE OR REPLACE FUNCTION ensure_readings_partitions(from_ts timestamptz, to_ts timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    day      date := (from_ts AT TIME ZONE 'UTC')::date;
    last_day date := (to_ts AT TIME ZONE 'UTC')::date;
    name     text;
    created  integer := 0;
BEGIN
    IF abbanoa_has_timescaledb() AND EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        RETURN 0;
    END IF;
    IF last_day - day > 3660 THEN
        RAISE EXCEPTION 'refusing to create % daily partitions at once', last_day - day;
    END IF;
    WHILE day <= last_day LOOP
        name := 'readings_p' || to_char(day, 'YYYYMMDD');
        IF to_regclass(name) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE IF NOT EXISTS %I PARTITION OF readings FOR VALUES FROM (%L) TO (%L)',
                name,
                (day::timestamp AT TIME ZONE 'UTC'),
                ((day + 1)::timestamp AT TIME ZONE 'UTC'));
            created := created + 1;
        END IF;
        day := day + 1;
    END LOOP;
    RETURN created;
END
$$;

-- Daily partitions as (name, range start, range end), oldest first: what retention drops.
CREATE OR REPLACE VIEW readings_partitions AS
SELECT c.relname AS partition_name,
       to_timestamp(substring(c.relname FROM 'readings_p(\d{8})'), 'YYYYMMDD') AS starts_at,
       to_timestamp(substring(c.relname FROM 'readings_p(\d{8})'), 'YYYYMMDD') + interval '1 day' AS ends_at
FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
JOIN pg_class p ON p.oid = i.inhparent
WHERE p.relname = 'readings' AND c.relname ~ '^readings_p\d{8}$';

SELECT ensure_readings_partitions(now() - interval '30 days', now() + interval '14 days');
