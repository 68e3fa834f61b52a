from django.apps import AppConfig

from carbon.signals import readings_revised


class SchedulerConfig(AppConfig):
    name = "scheduler"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imports in ready(): this module loads before the app registry, and these import models.
        # Each django-q2 worker, when it (re)starts, cleans up after runs that died and hands due
        # jobs to the cluster again: queue messages may have died with the previous cluster.
        from django_q.signals import post_spawn

        from scheduler.tasks import on_worker_start

        post_spawn.connect(on_worker_start, dispatch_uid="scheduler.on_worker_start")

        # Finished backups are accounted again when their readings are revised (an estimate
        # replaced by the provider's measurement).
        from scheduler.services.accounting import on_readings_revised

        readings_revised.connect(on_readings_revised, dispatch_uid="scheduler.on_readings_revised")
