-- `import --corrections` (issue 21.8): every reading whose value a corrections import
-- changed, with the value before and after, who imported it and when. The corrected row
-- itself reaches `readings` through the warehouse and the sync, like any other.
CREATE TABLE IF NOT EXISTS reading_corrections (
    correction_id  bigserial PRIMARY KEY,
    tenant_id      text NOT NULL,
    node_id        text NOT NULL,
    metric         text NOT NULL,
    ts             timestamptz NOT NULL,
    old_value      double precision NOT NULL,
    new_value      double precision NOT NULL,
    corrected_by   text NOT NULL,
    corrected_at   timestamptz NOT NULL,
    source         text NOT NULL
);
CREATE INDEX IF NOT EXISTS reading_corrections_series_idx ON reading_corrections (node_id, metric, ts);
