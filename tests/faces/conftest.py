"""Helpers for the faces tests: real gallery photos, real enrollment through the real worker."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import pytest


def make_photo(owner, path: Path):  # type: ignore[no-untyped-def]
    """A gallery Photo made the way the gallery stores uploads (re-encoded, upright, no metadata)."""
    from gallery.models import Photo
    from nstsite.uploads import encode, read_upload, thumbnail

    clean = read_upload(path.read_bytes(), name=path.name)
    photo = Photo(owner=owner, original_name=path.name, content_hash=clean.sha256, taken_at=clean.taken_at)
    encoded = encode(clean.image, clean.format)
    photo.image.save(str(encoded.name), encoded, save=False)
    photo.thumbnail.save("thumb.jpg", thumbnail(clean.image), save=False)
    photo.save()
    return photo


@pytest.fixture
def faces_dir(testdata: Path) -> Path:
    return testdata / "faces"


@pytest.fixture
def group_dir(testdata: Path) -> Path:
    return testdata / "faces_group"


@pytest.fixture
def enroll(run_worker) -> Callable[..., object]:  # type: ignore[no-untyped-def]
    """enroll(staff, name, paths) -> Person, through uploads, scans and the real faces worker."""
    from faces.services import face_scan_create, person_create, upload_create

    def _enroll(staff, name: str, paths: Iterable[Path], *, run: bool = True):  # type: ignore[no-untyped-def]
        person = person_create(name=name, actor=staff)
        for path in paths:
            upload = upload_create(owner=staff, file=path.read_bytes(), purpose="enroll", person=person, name=path.name)
            face_scan_create(upload=upload)
        if run:
            run_worker("faces")
        return person

    return _enroll


@pytest.fixture
def scan_photo(run_worker) -> Callable[..., object]:  # type: ignore[no-untyped-def]
    """scan_photo(owner, path) -> Photo with its faces detected and identified by the real worker."""
    from faces.services import face_scan_create

    def _scan(owner, path: Path, *, run: bool = True):  # type: ignore[no-untyped-def]
        photo = make_photo(owner, path)
        face_scan_create(photo=photo)
        if run:
            run_worker("faces")
        return photo

    return _scan
