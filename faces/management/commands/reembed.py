"""``python manage.py reembed --embedder NAME``: re-embed every stored face with another embedder.

Faces keep their rows, people, assignments (confirmations included) and "not this person"
memory; only ``embedding`` and ``embedder`` change. The stored landmarks are re-used for the new
embedder's alignment, so nothing is detected again. Faces whose image is gone (one-off uploads
deleted, or whose vectors were never kept) are skipped. Afterwards set FACES_EMBEDDER=NAME.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from tqdm import tqdm

from faces import engines
from faces.models import Face
from ml.faces.detect import DetectedFace
from ml.faces.embedders import EMBEDDERS
from nstsite.files import open_stored_image


class Command(BaseCommand):
    help = "Re-embed all faces with another embedder, keeping names and confirmations."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--embedder", required=True, choices=sorted(EMBEDDERS))
        parser.add_argument("--all", action="store_true", help="also faces already embedded with NAME")

    def handle(self, *args: Any, **options: Any) -> None:
        name = str(options["embedder"])
        try:
            embedder = engines.embedder(name)
        except Exception as exc:  # MissingWeightsError says which file and how to get it
            raise CommandError(str(exc)) from exc
        faces = Face.objects.exclude(embedding__isnull=True).select_related("photo", "upload")
        if not options["all"]:
            faces = faces.exclude(embedder=name)
        by_source: dict[tuple[str, int | None], list[Face]] = {}
        for face in faces.order_by("id"):
            key = ("photo", face.photo_id) if face.photo_id else ("upload", face.upload_id)
            by_source.setdefault(key, []).append(face)
        counts: Counter[str] = Counter()
        for (_, _), group in tqdm(by_source.items(), desc=f"re-embedding with {name}", unit="photo",
                                  disable=options.get("verbosity", 1) == 0):  # fmt: skip
            field = group[0].photo.image if group[0].photo_id else group[0].upload.image
            try:
                image = open_stored_image(field)
            except (OSError, ValueError):
                counts["skipped: image missing"] += len(group)
                continue
            detected = [
                DetectedFace(box=f.box, score=f.score, landmarks=[tuple(p) for p in f.landmarks]) for f in group
            ]
            vectors = embedder.embed_faces(image, detected)
            with transaction.atomic():
                for face, vector in zip(group, vectors, strict=True):
                    Face.objects.filter(pk=face.pk).update(embedding=vector, embedder=name)
            counts["re-embedded"] += len(group)
        summary = ", ".join(f"{k}: {v}" for k, v in counts.items()) or "nothing to do"
        self.stdout.write(self.style.SUCCESS(f"{summary}. Now set FACES_EMBEDDER={name} and re-run calibration."))
