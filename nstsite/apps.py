from django.apps import AppConfig


class NstsiteConfig(AppConfig):
    name = "nstsite"
    verbose_name = "nstsite core"
