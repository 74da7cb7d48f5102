"""Pure analytics: detectors, episodes, data quality. No I/O here: DataFrames in, DataFrames out."""
