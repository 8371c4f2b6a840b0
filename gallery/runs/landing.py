"""Job body: render the landing page's before/after examples and their manifest (see ``gallery/landing.py``)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from gallery import engines
from ml.images import open_image
from nstsite import uploads

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
