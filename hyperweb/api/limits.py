"""Bounds on numbers that come in, shared by the API serializers, the services and the forms.

A value beyond these is refused with a 400 (API) or a form error, never stored: each is far
beyond any real backup and small enough that the arithmetic done with it (energy, emissions,
datetime + duration) stays finite and in range, so the JSON answer can always be written.
"""

from __future__ import annotations

# Largest data size a backup, an estimate or a report may name: one petabyte.
MAX_DATA_SIZE_GB = 1_000_000.0
# Longest expected duration of one backup run (jobs and recurring policies alike): one week.
MAX_DURATION_HOURS = 168.0
# Shortest: 36 seconds (a smaller positive number would round to a zero-length window).
MIN_DURATION_HOURS = 0.01
# Highest carbon intensity threshold (gCO2/kWh); the dirtiest grids stay below 2,000.
MAX_INTENSITY = 100_000.0
# How far ahead a job may be told to wait before starting (metadata.not_before).
MAX_NOT_BEFORE_DAYS = 366
