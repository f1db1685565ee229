from django.apps import AppConfig, apps
from django.utils.translation import gettext_lazy as _


class DualAuthConfig(AppConfig):
    name = "dualauth"
    verbose_name = _("Sign-ins")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, receivers  # noqa: F401  (registration only)

        receivers.connect_user_model()
        if apps.is_installed("drf_spectacular"):
            from . import openapi  # noqa: F401  (drf-spectacular registers extensions on import)
