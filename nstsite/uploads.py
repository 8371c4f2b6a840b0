"""Upload validation and safe re-encoding, shared by every place that accepts an image.

An upload is accepted for what it decodes as — JPEG, PNG, WebP or HEIC/HEIF, tried by Pillow with
only those decoders — never for its name or content type. HEIC is stored as JPEG. A photo above
``UPLOAD_MAX_PIXELS`` (a 48 MP phone photo) is scaled down to the limit, with a notice; only one
beyond ``UPLOAD_MAX_DECODE_PIXELS`` is refused. It is fully decoded (so truncation is
caught), limited in bytes and pixels (decompression bombs are errors), turned upright from its
EXIF orientation, and re-encoded without any metadata: GPS and camera data never reach storage.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import threading
from dataclasses import dataclass
from types import TracebackType

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone
from PIL import Image, ImageCms
from pillow_heif import register_heif_opener

from ml.images import ImageError, open_image

register_heif_opener()  # adds Pillow's "HEIF" decoder; used only where a formats list names it

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")  # what we store
DECODED_FORMATS = (*ACCEPTED_FORMATS, "HEIF")  # what we read; HEIF is stored as JPEG
THUMBNAIL_SIDE = 480
_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 36867
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


class _DecodeSlots:
    """At most ``UPLOAD_DECODE_CONCURRENCY`` images decoded at once in this process (re-entrant per thread).

    A decoded 40 MP image takes about 160 MB; with eight web threads uploading at once the process
    would need eight of them. This bounds the peak to a known number of decoded images.
    """

    def __init__(self) -> None:
        self._local = threading.local()
        self._semaphore: threading.BoundedSemaphore | None = None
        self._guard = threading.Lock()

    def _slots(self) -> threading.BoundedSemaphore:
        with self._guard:
            if self._semaphore is None:
                self._semaphore = threading.BoundedSemaphore(max(1, settings.UPLOAD_DECODE_CONCURRENCY))
            return self._semaphore

    def __enter__(self) -> None:
        depth = getattr(self._local, "depth", 0)
        if depth == 0:
            self._slots().acquire()
        self._local.depth = depth + 1

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._local.depth -= 1
        if self._local.depth == 0:
            self._slots().release()


DECODE_SLOTS = _DecodeSlots()


# What a user can do about each kind of unusable image (ml.images.ImageError.reason).
UPLOAD_ADVICE = {
    "format": "Upload a JPEG, PNG or WebP photo.",
    "damaged": "Part of the file is missing: upload it again, or export it again from the app that made it.",
    "size": "Upload a photo within those limits.",
}


class UploadError(ValueError):
    """The upload is refused; the message tells the user why and what to do."""


@dataclass(frozen=True)
class CleanImage:
    image: Image.Image  # RGB, upright
    format: str  # the format it decoded as
    sha256: str  # of the bytes as uploaded
    taken_at: dt.datetime | None
    notice: str = ""  # e.g. that the photo was scaled down to the pixel limit


def read_upload(upload: UploadedFile | bytes, *, name: str = "") -> CleanImage:
    """Validate an uploaded image; raise :class:`UploadError` with a user-facing message."""
    data = upload if isinstance(upload, bytes) else _read_limited(upload)
    label = f"“{name or getattr(upload, 'name', '') or 'file'}”"
    if not data:
        raise UploadError(f"{label} is empty (0 bytes).")
    if len(data) > settings.UPLOAD_MAX_BYTES:
        raise UploadError(f"{label} is larger than the {settings.UPLOAD_MAX_BYTES // (1024 * 1024)} MB limit.")
    try:
        with DECODE_SLOTS:
            image = open_image(data, formats=DECODED_FORMATS, max_pixels=settings.UPLOAD_MAX_DECODE_PIXELS)
        with Image.open(io.BytesIO(data), formats=list(DECODED_FORMATS)) as header:
            fmt = header.format or "JPEG"
            taken_at = _taken_at(header)
            image = _to_srgb(image, header.info.get("icc_profile"))
    except ImageError as exc:
        raise UploadError(f"{label}: {exc} {UPLOAD_ADVICE[exc.reason]}") from exc
    image, notice = _fit_pixel_limit(image, label)
    return CleanImage(
        image=image, format=fmt, sha256=hashlib.sha256(data).hexdigest(), taken_at=taken_at, notice=notice
    )


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:.0f}" if pixels >= 10_000_000 else f"{pixels / 1e6:.1f}"


def _fit_pixel_limit(image: Image.Image, label: str) -> tuple[Image.Image, str]:
    """Scale ``image`` down to at most ``UPLOAD_MAX_PIXELS`` and ``UPLOAD_MAX_SIDE`` (the longest side
    any engine renders; same aspect); say so when it was."""
    limit, side = settings.UPLOAD_MAX_PIXELS, settings.UPLOAD_MAX_SIDE
    width, height = image.size
    scale = min(1.0, (limit / (width * height)) ** 0.5, side / max(width, height))
    if scale >= 1.0:
        return image, ""
    size = (max(1, int(width * scale)), max(1, int(height * scale)))
    scaled = f"it was scaled down to {size[0]}×{size[1]}"
    if width * height > limit:
        notice = (
            f"{label} was {width}×{height} ({_megapixels(width * height)} megapixels); {scaled} to fit the "
            f"{_megapixels(limit)} megapixel limit."
        )
    else:
        notice = f"{label} was {width}×{height}; {scaled}: no side may be longer than {side} pixels."
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0), notice


def _read_limited(upload: UploadedFile) -> bytes:
    if upload.size is not None and upload.size > settings.UPLOAD_MAX_BYTES:
        raise UploadError(f"“{upload.name}” is larger than the {settings.UPLOAD_MAX_BYTES // (1024 * 1024)} MB limit.")
    upload.seek(0)
    return upload.read(settings.UPLOAD_MAX_BYTES + 1)


def _to_srgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    """Pixels converted from the file's colour profile to sRGB, so the profile itself can be dropped.

    Stored images carry no metadata at all (a profile can hold names and text), and untagged RGB
    is read as sRGB everywhere, so converting keeps the colours the uploader saw.
    """
    if not icc:
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in (ImageCms.getProfileDescription(source) or "").lower():
            return image
        converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image  # a broken or non-RGB profile: keep the pixels as they are, drop the profile
    return converted if converted is not None else image


def _taken_at(image: Image.Image) -> dt.datetime | None:
    try:
        raw = image.getexif().get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL)
        if not raw:
            return None
        return timezone.make_aware(dt.datetime.strptime(str(raw).strip("\x00 "), "%Y:%m:%d %H:%M:%S"))
    except (ValueError, TypeError, KeyError, OSError):
        return None  # a malformed date is not a reason to refuse a photo


def encode(image: Image.Image, fmt: str = "JPEG", *, quality: int = 92) -> ContentFile:
    """Re-encode ``image`` with no metadata at all: no EXIF, XMP, ICC, comment, text chunk or APPn segment.

    Pillow writes some of ``image.info`` back on save (a JPEG's comment, an ICC profile, XMP), so the
    pixels are copied into a fresh image that carries nothing else.
    """
    fmt = fmt if fmt in ACCEPTED_FORMATS else "JPEG"
    buffer = io.BytesIO()
    # No copy of an RGB image (a 40 MP photo is 160 MB in Pillow); its info is metadata we drop anyway.
    clean = image if image.mode == "RGB" else image.convert("RGB")
    clean.info = {}
    if fmt == "PNG":
        clean.save(buffer, "PNG", optimize=False)
    else:
        clean.save(buffer, fmt, quality=quality)
    suffix = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}[fmt]
    return ContentFile(buffer.getvalue(), name=f"image{suffix}")


def thumbnail(image: Image.Image, side: int = THUMBNAIL_SIDE) -> ContentFile:
    """A JPEG at most ``side`` px on its longest side (never enlarged); ``image`` is left as it is."""
    width, height = image.size
    scale = side / max(width, height)
    if scale >= 1:
        return encode(image, "JPEG", quality=85)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # resize() makes only the small result (``copy()`` + ``thumbnail()`` would first copy the full image).
    return encode(image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0), "JPEG", quality=85)
