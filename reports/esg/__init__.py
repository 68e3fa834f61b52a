"""ESG reports: value.py (pure aggregation into a typed value), loader.py (the ORM side),
params.py (period parsing), csv.py / pdf.py / charts.py (renderers). docs/REPORTS.md has the method."""
