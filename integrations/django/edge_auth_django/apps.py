from django.apps import AppConfig


class EdgeAuthConfig(AppConfig):
    name = "edge_auth_django"
    verbose_name = "edge-auth sync"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import conf, signals

        conf.check_installed_apps()
        conf.get_config()
        signals.connect()
