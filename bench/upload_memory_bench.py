"""Peak memory of the worst upload request the limits allow: many large, highly compressible PNGs.

A PNG of one colour is a few hundred kB on the wire but decodes to width × height × 4 bytes in
Pillow. The worst single request is ``UPLOAD_MAX_FILES`` such files at ``UPLOAD_MAX_PIXELS`` each.
Each measurement runs ``gallery.services.photos_create`` in a fresh process (so the peak RSS is
this request's, not an earlier one's) against the embedded services of ``var/bench-memory/``, and
prints the growth of the peak RSS over the process's RSS just before the request.

    .venv/bin/python bench/upload_memory_bench.py [--files 1 6 20] [--megapixels 40]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def big_png(megapixels: float, seed: int) -> bytes:
    from PIL import Image

    side = int((megapixels * 1e6) ** 0.5)
    buffer = io.BytesIO()
    Image.new("RGB", (side, side), (seed * 37 % 255, 120, 200)).save(buffer, "PNG", compress_level=9)
    return buffer.getvalue()


def child(files: int, megapixels: float) -> dict[str, float]:
    """Run one upload request's service call in this process; returns sizes and the peak RSS growth."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from nstsite.embedded import configure_environment

    configure_environment()  # the embedded services under var/ unless DATABASE_URL/REDIS_URL say otherwise
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile

    from gallery.models import Photo
    from gallery.services import photos_create

    payloads = [big_png(megapixels, i) for i in range(files)]
    user, _ = get_user_model().objects.get_or_create(username="memory-bench")
    Photo.objects.filter(owner=user).delete()
    uploads = [SimpleUploadedFile(f"p{i}.png", data, "image/png") for i, data in enumerate(payloads)]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB → MiB (Linux)
    photos_create(owner=user, uploads=uploads)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for photo in Photo.objects.filter(owner=user):
        for field in (photo.image, photo.thumbnail):
            field.storage.delete(field.name)
    Photo.objects.filter(owner=user).delete()
    return {"files": files, "megapixels": megapixels, "request_mb": sum(map(len, payloads)) / 1e6,
            "before_mib": before, "peak_mib": peak, "growth_mib": peak - before}  # fmt: skip


def measure(files: int, megapixels: float, env: dict[str, str] | None = None) -> dict[str, float]:
    """:func:`child` in a fresh process; ``env`` defaults to this process's environment."""
    result = subprocess.run(
        [sys.executable, __file__, "--child", str(files), str(megapixels)],
        env=env or os.environ.copy(), capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, nargs="+", default=[1, 6, 20])
    parser.add_argument("--megapixels", type=float, default=40.0)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(int(args.child[0]), float(args.child[1]))))
        return
    env = {**os.environ, "NSTSITE_VAR_DIR": str(ROOT / "var" / "bench-memory"), "FACES_DETECT_ON_UPLOAD": "false",
           "MEDIA_ROOT": str(ROOT / "var" / "bench-memory" / "media")}  # fmt: skip
    for name in ("DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], env=env, check=True)
    print(f"{'files':>5} {'MP each':>8} {'request MB':>10} {'RSS before MiB':>15} {'peak MiB':>9} {'growth MiB':>10}")
    for files in args.files:
        r = measure(files, args.megapixels, env)
        print(f"{files:>5} {r['megapixels']:>8.0f} {r['request_mb']:>10.1f} {r['before_mib']:>15.0f} "
              f"{r['peak_mib']:>9.0f} {r['growth_mib']:>10.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
