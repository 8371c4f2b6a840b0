from __future__ import annotations

from typing import Any

from nstsite import apps  # the module, not the class: Django picks the one AppConfig class defined here


class FacesConfig(apps.QueueAppConfig):
    name = "faces"
    verbose_name = "Faces"
    worker_groups = (("faces",),)  # every face job: scans, enrollment, identification, verification, clustering
    required_queues = ("faces",)

    def ready(self) -> None:
        from faces.models import Calibration, Face, Upload
        from nstsite.files import erase_files_with_rows

        # Crops, enrollment photos and ROC plots go with their rows, however they are deleted.
        erase_files_with_rows(Face, "crop")
        erase_files_with_rows(Upload, "image")
        erase_files_with_rows(Calibration, "roc")

    def warm_up(self, queue_names: list[str]) -> None:
        from faces import engines

        if "faces" in queue_names:
            engines.warm_up()

    def capabilities(self, queue_names: list[str]) -> dict[str, Any]:
        from faces.engines import advertised

        return advertised(queue_names)
