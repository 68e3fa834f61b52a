"""hyperweb's shared leaf: pure helpers every app may import, importing none of them.

- `timefmt`: UTC instants written with a `Z`, ISO 8601 instants read with clear errors;
- `durations`: the one duration grammar of the commands (and settings), documented in
  docs/OPERATIONS.md, "Durations and times";
- `units`: quantities written one way (data sizes, CO2 masses, energy);
- `csvstream`: CSV written one line at a time, for streamed downloads.

Nothing here imports carbon, scheduler, reports, alerts, metrics, accounts or dashboard.
"""
