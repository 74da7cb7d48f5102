"""One module per dashboard view; each exposes `main()` (filters, fetch, aggregate, chart)."""
