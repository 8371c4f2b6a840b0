"""Folder-per-identity face data (``root/<person>/<photo>``) turned into labelled embeddings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ml.images import ImageError, open_image

if TYPE_CHECKING:
    from ml.faces.detect import DetectedFace, FaceDetector
    from ml.faces.embedders import Embedder

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}


def list_identities(root: str | Path) -> list[tuple[str, list[Path]]]:
    """``(person, photo paths)`` for every sub-folder of ``root`` holding images, sorted by name."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder")
    people = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        photos = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if photos:
            people.append((folder.name, photos))
    if not people:
        raise ValueError(f"{root} has no <person>/<photo> sub-folders")
    return people


def main_face(faces: list[DetectedFace]) -> DetectedFace | None:
    """The face a portrait is "of": the largest box (press photos often have people behind)."""
    return max(faces, key=lambda f: f.width * f.height) if faces else None


@dataclass
class FaceSet:
    """Embeddings of one face per photo: ``embeddings`` float32 (N, d), ``labels`` int64 (N,)
    indexing ``people``; ``paths`` (N,) the photos; ``skipped`` the photos left out and why."""

    embeddings: np.ndarray
    labels: np.ndarray
    people: list[str]
    paths: list[Path]
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    def subset(self, mask: np.ndarray) -> FaceSet:
        keep = np.flatnonzero(mask)
        return FaceSet(self.embeddings[keep], self.labels[keep], self.people, [self.paths[i] for i in keep])


def embed_folder(root: str | Path, embedder: Embedder, detector: FaceDetector) -> FaceSet:
    """Detect, align and embed the main face of every photo under ``root/<person>/``.

    Photos that fail to open or contain no face are listed in ``skipped``, not raised: one bad
    file should not stop an evaluation of hundreds.
    """
    people = list_identities(root)
    vectors, labels, paths, skipped = [], [], [], []
    for label, (_, photos) in enumerate(people):
        for path in photos:
            try:
                image = open_image(path)
            except ImageError as exc:
                skipped.append((path, str(exc)))
                continue
            face = main_face(detector.detect(image))
            if face is None:
                skipped.append((path, "no face found"))
                continue
            vectors.append(embedder.embed_faces(image, [face])[0])
            labels.append(label)
            paths.append(path)
    embeddings = np.stack(vectors) if vectors else np.zeros((0, embedder.dim), dtype=np.float32)
    return FaceSet(embeddings, np.asarray(labels, dtype=np.int64), [p for p, _ in people], paths, skipped)
