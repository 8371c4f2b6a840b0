"""Before/after examples for the landing page, rendered once from public-domain paintings.

Rendered by a style worker at first start (``landing_examples_ensure`` enqueues the job; the
rendering is in ``gallery/runs/landing.py``) or by
``python manage.py landing_examples``; never in a request and never downloaded. The pictures come
from a local folder laid out like the project's test data (``style/content``, ``style/styles``),
``LANDING_EXAMPLES_DIR``; without it the landing page simply has no examples. The paintings are
public domain; for a public deployment, point the folder at photos you have the rights to.

Results are plain media files under ``landing/`` with a small ``examples.json`` manifest: they are
public by design, and served only by name from that manifest.
"""

from __future__ import annotations

import json

from django.core.files.storage import default_storage

from gallery.capacity import STYLE_QUEUE
from gallery.runs.landing import MANIFEST, source_dir
from nstsite.jobs import enqueue_after_commit


def examples() -> list[dict[str, str]]:
    """The rendered examples for the landing page (empty until they have been rendered)."""
    try:
        with default_storage.open(MANIFEST, "rb") as handle:
            return list(json.load(handle))
    except (FileNotFoundError, OSError, ValueError):
        return []


def landing_examples_ensure() -> None:
    """At start-up: have a style worker render the examples once, if there are none and a source."""
    if examples() or source_dir() is None:
        return
    from gallery.jobs import landing_examples_run

    # Redis down: they are rendered on the next start.
    enqueue_after_commit(STYLE_QUEUE, landing_examples_run, job_id="landing-examples")
