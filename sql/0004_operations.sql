-- Operational results: job runs, watermarks, quarantine, anomalies, alerts, data quality,
-- network efficiency, water-quality compliance, forecasts.

CREATE TABLE IF NOT EXISTS job_runs (
    run_id            bigserial PRIMARY KEY,
    job_name          text NOT NULL,
    trigger           text NOT NULL DEFAULT 'manual',   -- pubsub | http | cli | scheduler
    event_id          text,                             -- Pub/Sub message id, when triggered by one
    status            text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'skipped')),
    started_at        timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz,
    lease_expires_at  timestamptz,                      -- a crashed run's lock lapses after this
    rows_processed    bigint NOT NULL DEFAULT 0,
    watermark_before  timestamptz,
    watermark_after   timestamptz,
    details           jsonb NOT NULL DEFAULT '{}'::jsonb,
    error             text
);
-- At most one running run per job: the lock. A second run that cannot insert is skipped.
CREATE UNIQUE INDEX IF NOT EXISTS job_runs_one_running ON job_runs (job_name) WHERE status = 'running';
CREATE INDEX IF NOT EXISTS job_runs_recent ON job_runs (job_name, started_at DESC);

CREATE TABLE IF NOT EXISTS sync_watermarks (
    name        text PRIMARY KEY,
    value       timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Pub/Sub delivers at least once: an event id seen here has been handled.
CREATE TABLE IF NOT EXISTS processed_events (
    event_id      text PRIMARY KEY,
    handler       text NOT NULL,
    processed_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS quarantine (
    quarantine_id   bigserial PRIMARY KEY,
    quarantined_at  timestamptz NOT NULL DEFAULT now(),
    source          text NOT NULL,
    line_no         bigint,
    reason          text NOT NULL,
    detail          text,
    raw             text,
    fingerprint     text NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS quarantine_reason_idx ON quarantine (reason, quarantined_at);

CREATE TABLE IF NOT EXISTS anomalies (
    anomaly_id       bigserial PRIMARY KEY,
    tenant_id        text NOT NULL REFERENCES tenants (tenant_id),
    node_id          text REFERENCES nodes (node_id),
    district_id      text REFERENCES districts (district_id),
    metric           text,
    anomaly_type     text NOT NULL,
    severity         text NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'resolved')),
    score            double precision,
    observed_value   double precision,
    expected_value   double precision,
    start_ts         timestamptz NOT NULL,
    end_ts           timestamptz NOT NULL,
    details          jsonb NOT NULL DEFAULT '{}'::jsonb,
    acknowledged_by  text,
    acknowledged_at  timestamptz,
    resolved_by      text,
    resolved_at      timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS anomalies_tenant_idx ON anomalies (tenant_id, status, start_ts DESC);
CREATE INDEX IF NOT EXISTS anomalies_series_idx ON anomalies (node_id, metric, anomaly_type, end_ts DESC);

CREATE TABLE IF NOT EXISTS alerts (
    alert_id         bigserial PRIMARY KEY,
    tenant_id        text NOT NULL REFERENCES tenants (tenant_id),
    idempotency_key  text NOT NULL UNIQUE,
    source           text NOT NULL,        -- anomaly | data_quality | compliance
    source_id        bigint,
    alert_type       text NOT NULL,
    severity         text NOT NULL,
    payload          jsonb NOT NULL,
    message_id       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    published_at     timestamptz
);

CREATE TABLE IF NOT EXISTS alert_deliveries (
    delivery_id      bigserial PRIMARY KEY,
    idempotency_key  text NOT NULL,
    target           text NOT NULL,
    status           text NOT NULL CHECK (status IN ('delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 1,
    http_status      integer,
    error            text,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (idempotency_key, target)
);

CREATE TABLE IF NOT EXISTS data_quality (
    node_id        text NOT NULL REFERENCES nodes (node_id),
    metric         text NOT NULL,
    day            date NOT NULL,                 -- Europe/Rome local day
    expected       integer NOT NULL,
    received       integer NOT NULL,
    completeness   double precision,              -- received / expected, 0..1
    validity       double precision,              -- share in range, 0..1
    staleness_s    double precision,              -- seconds since the last reading at computation
    consistency    double precision,              -- 0..1
    duplicates     integer NOT NULL DEFAULT 0,
    score          double precision,              -- overall 0..100
    details        jsonb NOT NULL DEFAULT '{}'::jsonb,
    computed_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (node_id, metric, day)
);

CREATE TABLE IF NOT EXISTS network_efficiency (
    district_id        text NOT NULL REFERENCES districts (district_id),
    period             text NOT NULL CHECK (period IN ('hour', 'day', 'month')),
    period_start       timestamptz NOT NULL,
    inflow_m3          double precision,
    outflow_m3         double precision,
    net_inflow_m3      double precision,
    consumption_m3     double precision,
    losses_m3          double precision,
    mnf_l_s            double precision,
    night_leakage_l_s  double precision,
    leakage_m3_day     double precision,
    nrw_pct            double precision,
    real_losses_l_conn_day double precision,
    uarl_l_day         double precision,
    ili                double precision,
    m1a_m3_km_day      double precision,
    m1b_pct            double precision,
    coverage           double precision,           -- share of expected meter data present, 0..1
    details            jsonb NOT NULL DEFAULT '{}'::jsonb,
    computed_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (district_id, period, period_start)
);

CREATE TABLE IF NOT EXISTS quality_excursions (
    excursion_id  bigserial PRIMARY KEY,
    node_id       text NOT NULL REFERENCES nodes (node_id),
    metric        text NOT NULL,
    limit_kind    text NOT NULL,                   -- directive | operational
    low           double precision,
    high          double precision,
    start_ts      timestamptz NOT NULL,
    end_ts        timestamptz NOT NULL,
    peak_value    double precision NOT NULL,
    open          boolean NOT NULL DEFAULT true,
    UNIQUE (node_id, metric, start_ts)
);

CREATE TABLE IF NOT EXISTS quality_compliance (
    node_id        text NOT NULL REFERENCES nodes (node_id),
    metric         text NOT NULL,
    day            date NOT NULL,
    samples        integer NOT NULL,
    compliant      integer NOT NULL,
    compliance_pct double precision,
    computed_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (node_id, metric, day)
);

-- Series are (node_id, metric); a district inflow forecast uses node_id = 'dma:<id>'.
CREATE TABLE IF NOT EXISTS forecasts (
    node_id        text NOT NULL,
    metric         text NOT NULL,
    model          text NOT NULL,
    generated_at   timestamptz NOT NULL,
    forecast_ts    timestamptz NOT NULL,
    value          double precision NOT NULL,
    lower_bound    double precision NOT NULL,
    upper_bound    double precision NOT NULL,
    confidence     double precision NOT NULL DEFAULT 0.9,
    PRIMARY KEY (node_id, metric, model, generated_at, forecast_ts)
);

CREATE TABLE IF NOT EXISTS forecast_accuracy (
    node_id        text NOT NULL,
    metric         text NOT NULL,
    model          text NOT NULL,
    generated_at   timestamptz NOT NULL,
    points         integer NOT NULL,
    mae            double precision,
    mape           double precision,
    coverage       double precision,
    scored_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (node_id, metric, model, generated_at)
);
