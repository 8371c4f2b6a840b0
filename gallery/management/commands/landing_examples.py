"""Render the landing page's before/after examples now (a worker also does this at first start)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gallery.runs.landing import landing_examples_render, source_dir


class Command(BaseCommand):
    help = "Render the landing page's before/after examples from public-domain paintings."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--source", type=Path, help="folder with style/content and style/styles (default: LANDING_EXAMPLES_DIR)"
        )
        parser.add_argument("--max-side", type=int, default=640, help="longest side of each picture (default 640)")

    def handle(self, *args: Any, source: Path | None = None, max_side: int = 640, **options: Any) -> None:
        folder = source or source_dir()
        if folder is None or not (folder / "style" / "content").is_dir():
            raise CommandError(
                "No pictures: pass --source DIR (with style/content and style/styles) or set LANDING_EXAMPLES_DIR."
            )
        done = landing_examples_render(folder=folder, max_side=max_side)
        for item in done:
            self.stdout.write(f"{item['slug']}: {item['content']} in the style of {item['title']} ({item['engine']})")
        self.stdout.write(self.style.SUCCESS(f"{len(done)} example(s) rendered."))
