-- Realtime sync: rows seen per warehouse ingestion time (one value per import or
-- streamed batch) inside the re-read window, so a batch already copied whole is not
-- fetched again, while a batch that grew (a chunked import still committing) is.
CREATE TABLE IF NOT EXISTS sync_batches (
    name         text NOT NULL,
    ingested_at  timestamptz NOT NULL,
    rows         bigint NOT NULL,
    synced_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, ingested_at)
);
