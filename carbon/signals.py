"""Signals the carbon app sends for other apps (the scheduler re-accounts finished backups)."""

from django.dispatch import Signal

# Sent after commit when actual readings of `zone` between `start` and `end` were stored for the
# first time, changed value or went from estimated to measured (a provider's revision):
# kwargs zone, source, start, end.
readings_revised = Signal()
