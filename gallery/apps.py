from __future__ import annotations

from typing import Any

from nstsite import apps  # the module, not the class: Django picks the one AppConfig class defined here


class GalleryConfig(apps.QueueAppConfig):
    name = "gallery"
    verbose_name = "Gallery"
    # Routing (docs/deploy.md): "style" takes every style job that needs only packaged weights;
    # "gatys-vgg19" Gatys on VGG19, whose weights are downloaded, so only workers that have them listen.
    worker_queues = ("style", "gatys-vgg19")
    required_queues = ("style",)

    def warm_up(self, queue_names: list[str]) -> None:
        from gallery import capacity, engines

        if "style" in queue_names:
            engines.warm_up()
            capacity.probe_throughputs()

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
