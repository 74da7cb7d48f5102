"""Command-line evaluation drivers: anomaly detection (evaluate) and demand forecasts (backtest), scored against stored truth."""
