"""ESG reports: value.py (pure aggregation into a typed value: inputs.py, aggregate.py, outputs.py
re-exported), loader.py (the ORM side),
params.py (period parsing), csv.py / pdf.py / charts.py (renderers). docs/REPORTS.md has the method."""
