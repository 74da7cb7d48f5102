-- Leak localisation (issue 20): a district's hydraulic model with its precomputed leak
-- sensitivity matrix (refreshed when the model's fingerprint changes), and the ranked
-- places (loggers or model junctions) stored with each leak-type anomaly.
CREATE TABLE IF NOT EXISTS network_models (
    district_id     text PRIMARY KEY REFERENCES districts (district_id),
    tenant_id       text NOT NULL REFERENCES tenants (tenant_id),
    fingerprint     text NOT NULL,
    model_inp       text NOT NULL,
    loggers         jsonb NOT NULL,   -- registry node_id -> model junction
    candidates      jsonb NOT NULL,   -- candidate junctions, the matrix's rows
    positions       jsonb NOT NULL,   -- junction -> [latitude, longitude] (fitted on the loggers)
    pipes_at        jsonb NOT NULL,   -- junction -> pipes that meet there
    sensitivity     jsonb,            -- {"loggers": [...], "matrix": [[m per l/s]], "nuisance": {...}}
    sensitivity_fingerprint text,     -- the model the matrix was computed from
    sensitivity_s   double precision, -- seconds it took
    imported_at     timestamptz NOT NULL DEFAULT now(),
    computed_at     timestamptz
);
CREATE INDEX IF NOT EXISTS network_models_tenant_idx ON network_models (tenant_id);

CREATE TABLE IF NOT EXISTS anomaly_localisations (
    anomaly_id      bigint NOT NULL REFERENCES anomalies (anomaly_id) ON DELETE CASCADE,
    method          text NOT NULL CHECK (method IN ('pressure_loggers', 'hydraulic_model')),
    tenant_id       text NOT NULL REFERENCES tenants (tenant_id),
    onset           timestamptz NOT NULL,
    confidence      double precision NOT NULL,
    ranked          jsonb NOT NULL,
    area            jsonb,
    result          jsonb NOT NULL,
    model_fingerprint text,
    computed_at     timestamptz NOT NULL,
    PRIMARY KEY (anomaly_id, method)
);
CREATE INDEX IF NOT EXISTS anomaly_localisations_tenant_idx ON anomaly_localisations (tenant_id, anomaly_id);
