from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The scheduler sends its signals without knowing who listens (scheduler/signals.py). The
        # receivers import models, which load only once the app registry is ready: imported here.
        from alerts import receivers

        receivers.connect()
