"""Analytics: pure functions over DataFrames and values (no I/O)."""
