from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


def _ensure_roles(sender: AppConfig, **kwargs: object) -> None:
    # post_migrate is sent once per app with models, in INSTALLED_APPS order, and each app's
    # permissions are created by its own signal; waiting for the last one means all exist.
    with_models = [config for config in apps.get_app_configs() if config.models_module is not None]
    if sender.label != with_models[-1].label:
        return
    # Imported here: this module loads before the app registry, and roles imports the auth models.
    from accounts.roles import ensure_roles

    ensure_roles()


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and API access"

    def ready(self) -> None:
        post_migrate.connect(_ensure_roles, dispatch_uid="accounts.ensure_roles")
