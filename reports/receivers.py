"""What reports does when a lower app says something happened (connected in reports/apps.py)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from reports import whatif


def warm_whatif(sender: Any, **kwargs: Any) -> None:
    """After the scheduled refresh (carbon's zones_refreshed): every choice of the what-if form per
    zone, only what a new day or new data changed, within WHATIF_PRECOMPUTE_SECONDS (whatif.warm)."""
    if settings.WHATIF_PRECOMPUTE:
        whatif.warm()
