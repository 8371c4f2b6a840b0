"""Before/after examples for the landing page, rendered once from public-domain paintings.

Rendered by a style worker at first start (``landing_examples_ensure`` enqueues the job) or by
``python manage.py landing_examples``; never in a request and never downloaded. The pictures come
from a local folder laid out like the project's test data (``style/content``, ``style/styles``),
``LANDING_EXAMPLES_DIR``; without it the landing page simply has no examples. The paintings are
public domain; for a public deployment, point the folder at photos you have the rights to.

Results are plain media files under ``landing/`` with a small ``examples.json`` manifest: they are
public by design, and served only by name from that manifest.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import django_rq
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from PIL import Image
from redis.exceptions import RedisError

from gallery import engines
from gallery.capacity import STYLE_QUEUE
from ml.images import open_image
from nstsite import uploads

log = logging.getLogger(__name__)

MANIFEST = "landing/examples.json"


@dataclass(frozen=True)
class Example:
    slug: str
    content: str  # file name under style/content
    style: str  # file name under style/styles (a painting) or a preset id as "preset:N"
    title: str
    engine: str


EXAMPLES = (
    Example("tubingen-starry-night", "tubingen.jpg", "starry_night.jpg", "The Starry Night (van Gogh, 1889)",
            "Any painting"),
    Example("golden-gate-great-wave", "golden_gate.jpg", "wave.jpg", "The Great Wave (Hokusai, c. 1831)",
            "Any painting"),
    Example("chicago-the-scream", "chicago.jpg", "the_scream.jpg", "The Scream (Munch, 1893)", "Any painting"),
    Example("sailboat-preset", "sailboat.jpg", "preset:3", "a built-in preset", "Preset"),
)  # fmt: skip


def examples() -> list[dict[str, str]]:
    """The rendered examples for the landing page (empty until they have been rendered)."""
    try:
        with default_storage.open(MANIFEST, "rb") as handle:
            return list(json.load(handle))
    except (FileNotFoundError, OSError, ValueError):
        return []


def source_dir() -> Path | None:
    folder = Path(settings.LANDING_EXAMPLES_DIR)
    return folder if (folder / "style" / "content").is_dir() and (folder / "style" / "styles").is_dir() else None


def landing_examples_render(*, folder: Path, max_side: int = 640) -> list[dict[str, str]]:
    """Render every example whose pictures are in ``folder``; store them and the manifest."""
    from ml.style.presets import PRESETS

    done: list[dict[str, str]] = []
    for example in EXAMPLES:
        content_path = folder / "style" / "content" / example.content
        if not content_path.is_file():
            continue
        content = open_image(content_path)
        content.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        title = example.title
        if example.style.startswith("preset:"):
            preset = PRESETS[int(example.style.split(":")[1])]
            after = engines.presets().stylize(content, {preset.id: 1.0}, max_side=max_side)
            title = f"the preset “{preset.name}”"
        else:
            style_path = folder / "style" / "styles" / example.style
            if not style_path.is_file():
                continue
            after = engines.arbitrary().stylize(content, open_image(style_path), max_side=max_side)
        names = {}
        for which, image in (("before", content), ("after", after)):
            name = f"landing/{example.slug}-{which}.jpg"
            if default_storage.exists(name):
                default_storage.delete(name)
            default_storage.save(name, ContentFile(uploads.encode(image, "JPEG", quality=86).read()))
            names[which] = name.removeprefix("landing/")
        done.append({**asdict(example), "title": title, **names})
    if default_storage.exists(MANIFEST):
        default_storage.delete(MANIFEST)
    default_storage.save(MANIFEST, ContentFile(json.dumps(done, indent=1).encode()))
    return done


def landing_examples_ensure() -> None:
    """At start-up: have a style worker render the examples once, if there are none and a source."""
    if examples() or source_dir() is None:
        return
    from gallery.jobs import landing_examples_run

    def _send() -> None:
        try:
            django_rq.get_queue(STYLE_QUEUE).enqueue(landing_examples_run, job_id="landing-examples")
        except RedisError:
            log.warning("could not enqueue the landing examples; they will be rendered on the next start")

    transaction.on_commit(_send)
