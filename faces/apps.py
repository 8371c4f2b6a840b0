from django.apps import AppConfig


class FacesConfig(AppConfig):
    name = "faces"
    verbose_name = "Faces"

    def ready(self) -> None:
        from faces import signals  # noqa: F401 - connects the file clean-up receivers
