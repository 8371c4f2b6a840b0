from __future__ import annotations

from typing import Any

from nstsite import apps  # the module, not the class: Django picks the one AppConfig class defined here


class GalleryConfig(apps.QueueAppConfig):
    name = "gallery"
    verbose_name = "Gallery"
    # Routing (docs/deploy.md): "style" takes the quick jobs (presets, any painting, previews), a
    # second worker the slow ones: "style-slow" (Gatys on packaged weights, labs) and "gatys-vgg19"
    # (Gatys on VGG19, whose weights are downloaded, so only workers that have them listen).
    worker_groups = (("style",), ("style-slow", "gatys-vgg19"))
    required_queues = ("style", "style-slow")

    def warm_up(self, queue_names: list[str]) -> None:
        from gallery import capacity, engines

        if capacity.STYLE_QUEUE in queue_names:
            engines.warm_up()
        if any(capacity.is_slow_queue(name) for name in queue_names):
            capacity.probe_throughputs()

    def ready(self) -> None:
        from gallery.models import Photo, Render, Style, StyleLab
        from gallery.previews import preview_names
        from nstsite.files import erase_files_with_rows

        # Every file goes with its row, however the row is deleted: a service, the admin, a
        # cascade (a photo's renders and labs, a user's everything) or a bulk QuerySet.delete().
        erase_files_with_rows(Photo, "image", "thumbnail", also=lambda photo: preview_names(photo_pk=photo.pk))
        erase_files_with_rows(Render, "result", "preview")
        erase_files_with_rows(Style, "image", "thumbnail", "checkpoint")
        erase_files_with_rows(StyleLab, "sheet", also=lambda lab: [str(c.get("image") or "") for c in lab.cells])

    def when_idle(self, queue_names: list[str]) -> bool:
        from gallery import capacity

        # The start-up probe competed with the other workers' start: measure again once idle.
        return any(capacity.is_slow_queue(n) for n in queue_names) and capacity.settle_throughputs()

    def refuse_queue(self, queue_name: str) -> str:
        from gallery.capacity import refuse_queue

        return refuse_queue(queue_name)

    def capabilities(self, queue_names: list[str]) -> dict[str, Any]:
        from gallery.capacity import advertised

        return advertised(queue_names)

    def enqueue_startup_jobs(self) -> None:
        from gallery.landing import landing_examples_ensure
        from gallery.services import presets_ensure_thumbnails

        presets_ensure_thumbnails()
        landing_examples_ensure()
