"""``python manage.py fetch_models [--dry-run] [NAME ...]``: download the pretrained weights that PyPI packages do not ship."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ml import weights


class Command(BaseCommand):
    help = "Download VGG19/VGG16 (Gatys, fast-style training) and FaceNet-VGGFace2 weights into NSTSITE_WEIGHTS_DIR."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("names", nargs="*", help=f"files to fetch (default all): {', '.join(weights.DOWNLOADABLE)}")
        parser.add_argument("--dry-run", action="store_true", help="list files, sizes and destinations only")

    def handle(self, *args: Any, names: list[str], dry_run: bool, **options: Any) -> None:
        unknown = [n for n in names if n not in weights.DOWNLOADABLE]
        if unknown:
            raise CommandError(f"Unknown weights file(s): {', '.join(unknown)}")
        try:
            results = weights.fetch(names or None, dry_run=dry_run)
        except OSError as exc:
            raise CommandError(
                f"Download failed ({exc}). Copy the files into {weights.weights_dir()} instead."
            ) from exc
        for spec, path, state in results:
            size = f"{spec.size / 1e6:.0f} MB" if spec.size else "size unknown"
            self.stdout.write(f"{state:15} {spec.name:36} {size:>13}  {path}")
