-- Detection's stored state (abbanoa/jobs/anomaly_detection.py, docs/anomalies.md): the
-- baselines of each local day, computed once from the weeks of hourly means before it and
-- read by every 15-minute tick of that day for the hours it needs.

-- one row per series and local hour of the day (hour-of-week: the day's weekday x hod)
CREATE TABLE IF NOT EXISTS detection_baselines (
    day date NOT NULL,              -- local day (TIMEZONE) the hours belong to
    node_id text NOT NULL,
    metric text NOT NULL,
    hod smallint NOT NULL CHECK (hod BETWEEN 0 AND 23),  -- local hour of the day
    expected double precision,      -- median of the same hour-of-week (or the fallbacks)
    spread double precision,        -- 1.4826 x MAD of the same values
    basis text,                     -- hour_of_week | hour_of_day | one_day
    PRIMARY KEY (day, node_id, metric, hod)
);

-- one row per series and local day: what the hours share
CREATE TABLE IF NOT EXISTS detection_series (
    day date NOT NULL,
    node_id text NOT NULL,
    metric text NOT NULL,
    typical_spread double precision,  -- median spread over the series' hours
    series_scale double precision,    -- median floored scale (the step detector's unit)
    interval_s double precision,      -- usual reporting interval (the gap detector)
    PRIMARY KEY (day, node_id, metric)
);

-- which days are computed, from what history, when
CREATE TABLE IF NOT EXISTS detection_baseline_days (
    day date PRIMARY KEY,
    history_from timestamptz NOT NULL,
    history_until timestamptz NOT NULL,
    series integer NOT NULL,
    computed_at timestamptz NOT NULL DEFAULT now()
);
