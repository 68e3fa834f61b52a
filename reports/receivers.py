"""What reports does when a lower app says something happened (connected in reports/apps.py)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from reports import whatif


def warm_whatif(sender: Any, **kwargs: Any) -> None:
    """After the scheduled refresh (carbon's zones_refreshed): the what-if page's default answer
    per zone, replay included, so a viewer's first question is answered from the cache."""
    if settings.WHATIF_PRECOMPUTE:
        whatif.warm()
