from django.apps import AppConfig


class HyperwebConfig(AppConfig):
    name = "hyperweb"
    verbose_name = "hyperweb"
