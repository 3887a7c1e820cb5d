from django.apps import AppConfig


class MarketplaceConfig(AppConfig):
    name = "marketplace"
    verbose_name = "zkMIPS marketplace"
    default_auto_field = "django.db.models.BigAutoField"
