"""File import: detect a file's kind, validate every row, load the warehouse, quarantine
the rest (issue 3). Entry points: `python -m abbanoa import` (cli.py) and
`importer.import_paths`. See docs/import.md."""
