"""Pure analytics (no I/O): water balance, loss indicators, water-quality compliance,
consumption patterns and forecasts. Jobs under abbanoa.jobs gather the inputs and store results."""
