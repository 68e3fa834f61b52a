from django.apps import AppConfig

from carbon.signals import zones_refreshed


class ReportsConfig(AppConfig):
    name = "reports"

    def ready(self) -> None:
        # Imported here, not at the top: the receivers import models, which load only once the app
        # registry is ready.
        from reports.receivers import warm_whatif

        zones_refreshed.connect(warm_whatif, dispatch_uid="reports.warm_whatif")
