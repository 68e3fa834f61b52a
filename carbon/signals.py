"""Signals the carbon app sends for the apps above it, which may not be imported from here (the
scheduler re-accounts finished backups, reports warms the what-if answers)."""

from django.dispatch import Signal

# Sent after commit when actual readings of `zone` between `start` and `end` were stored for the
# first time, changed value or went from estimated to measured (a provider's revision):
# kwargs zone, source, start, end.
readings_revised = Signal()

# Sent by the scheduled refresh (carbon.tasks.refresh_all_zones), in the worker that ran it, once
# every active zone was refreshed and the overview's tiles drawn, so upper layers warm what they
# derive from fresh readings (reports: the what-if page's default answers): kwargs outcomes.
zones_refreshed = Signal()
