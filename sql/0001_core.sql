-- Core registry: tenants, users, districts (DMAs), nodes, district meters, metrics.
-- Every node, district and user belongs to one tenant; queries filter by tenant_id.

CREATE TABLE IF NOT EXISTS tenants (
    tenant_id   text PRIMARY KEY,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS users (
    user_id        bigserial PRIMARY KEY,
    tenant_id      text NOT NULL REFERENCES tenants (tenant_id),
    username       text NOT NULL UNIQUE,
    password_hash  text NOT NULL,
    role           text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    active         boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS users_tenant_idx ON users (tenant_id);

-- District metered areas, with the infrastructure data the IWA / ARERA indicators need
-- (NULL where unknown: the indicators that need it are then not computed).
CREATE TABLE IF NOT EXISTS districts (
    district_id              text PRIMARY KEY,
    tenant_id                text NOT NULL REFERENCES tenants (tenant_id),
    name                     text NOT NULL,
    mains_length_km          double precision CHECK (mains_length_km > 0),
    service_connections      integer CHECK (service_connections >= 0),
    private_pipe_km          double precision CHECK (private_pipe_km >= 0),
    avg_pressure_m           double precision CHECK (avg_pressure_m > 0),
    night_use_l_per_conn_h   double precision NOT NULL DEFAULT 1.7,
    night_day_factor_h       double precision NOT NULL DEFAULT 20.0,
    billed_consumption_m3_day double precision,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS districts_tenant_idx ON districts (tenant_id);

CREATE TABLE IF NOT EXISTS nodes (
    node_id      text PRIMARY KEY,
    tenant_id    text NOT NULL REFERENCES tenants (tenant_id),
    name         text,
    node_type    text,
    latitude     double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude    double precision CHECK (longitude BETWEEN -180 AND 180),
    district_id  text REFERENCES districts (district_id),
    active       boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS nodes_tenant_idx ON nodes (tenant_id, district_id);

CREATE TABLE IF NOT EXISTS district_meters (
    district_id  text NOT NULL REFERENCES districts (district_id),
    node_id      text NOT NULL REFERENCES nodes (node_id),
    direction    smallint NOT NULL CHECK (direction IN (1, -1)),
    PRIMARY KEY (district_id, node_id)
);

-- Filled from abbanoa/metrics.py by `abbanoa migrate` (the single source of truth).
CREATE TABLE IF NOT EXISTS metrics (
    metric       text PRIMARY KEY,
    unit         text NOT NULL,
    min_value    double precision NOT NULL,
    max_value    double precision NOT NULL,
    kind         text NOT NULL,
    description  text
);

-- Per-node thresholds and detector sensitivity (NULL = metric default).
CREATE TABLE IF NOT EXISTS node_thresholds (
    node_id      text NOT NULL REFERENCES nodes (node_id),
    metric       text NOT NULL REFERENCES metrics (metric),
    low          double precision,
    high         double precision,
    sensitivity  double precision,
    PRIMARY KEY (node_id, metric)
);
