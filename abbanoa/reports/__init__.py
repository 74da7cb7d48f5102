"""Reports: pure functions taking data in and returning bytes (PDF, CSV, Excel)."""
