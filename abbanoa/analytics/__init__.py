"""Pure analytics: detectors, episodes, data quality, water balance, loss indicators, compliance,
forecasts. No I/O here: DataFrames and values in, DataFrames and values out."""
