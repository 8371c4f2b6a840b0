"""``python manage.py import_people DIR``: enroll a folder per person (DIR/<name>/<photos>).

Each photo goes through ``faces.services.enrollment_import``, which runs the detector and embedder in
this process (a command, not a web request); a progress bar, then a summary of what was skipped and why. Folder names become people's names
("george_w_bush" → "George W Bush"); an existing person of that name gets the new photos.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from faces import conf
from faces.models import Face
from faces.services import enrollment_import

SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}


def display_name(folder: str) -> str:
    return " ".join(part.capitalize() if part.islower() else part for part in folder.replace("_", " ").split())


class Command(BaseCommand):
    help = "Enroll people from DIR/<person>/<photo> folders (one face per photo)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path)
        parser.add_argument("--user", help="staff username recorded as the enroller (default: first superuser)")
        parser.add_argument("--largest", action="store_true", help="when a photo has several faces, take the largest")
        parser.add_argument("--limit", type=int, default=0, help="at most this many photos per person")

    def handle(self, *args: Any, **options: Any) -> None:
        root: Path = options["directory"]
        if not root.is_dir():
            raise CommandError(f"{root} is not a directory")
        users = get_user_model().objects
        actor = (
            users.filter(username=options["user"]).first()
            if options["user"]
            else users.filter(is_superuser=True).first()
        )
        if actor is None or not actor.is_staff:
            raise CommandError("Give --user with a staff account (or create a superuser).")
        folders = sorted(p for p in root.iterdir() if p.is_dir())
        work: list[tuple[Path, Path]] = []
        skipped: list[tuple[str, str]] = []
        for folder in folders:
            photos = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)
            if not photos:
                skipped.append((folder.name + "/", "no photos"))
            limit = int(options["limit"] or 0)
            work.extend((folder, p) for p in (photos[:limit] if limit else photos))
        embedder = conf.embedder_name()
        enrolled: Counter[str] = Counter()
        for folder, path in tqdm(work, desc="enrolling", unit="photo", disable=options.get("verbosity", 1) == 0):
            label = f"{folder.name}/{path.name}"
            try:
                data = path.read_bytes()
            except OSError as exc:
                skipped.append((label, f"unreadable: {exc}"))
                continue
            reason = enrollment_import(
                person_name=display_name(folder.name), data=data, file_name=path.name, actor=actor,
                largest=bool(options["largest"]),
            )  # fmt: skip
            if reason:
                skipped.append((label, reason))
            else:
                enrolled[folder.name] += 1
        self.stdout.write(
            self.style.SUCCESS(
                f"Enrolled {sum(enrolled.values())} face(s) of {len(enrolled)} people; "
                f"{Face.objects.filter(assignment='enrolled', embedder=embedder).count()} enrolled faces in all."
            )
        )
        if skipped:
            self.stdout.write(f"Skipped {len(skipped)}:")
            reasons = Counter(reason.split(":")[0].split(" (")[0] for _, reason in skipped)
            for label, reason in skipped:
                self.stdout.write(f"  {label}: {reason}")
            self.stdout.write("By reason: " + ", ".join(f"{r} ×{n}" for r, n in reasons.most_common()))
