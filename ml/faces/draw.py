"""Drawing detections on a photo, for the CLI's ``--overlay`` and for eyeballing results."""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image, ImageDraw

from ml.faces.detect import DetectedFace
from ml.images import to_rgb

# One colour per landmark (left eye, right eye, nose, mouth left, mouth right) so a swapped or
# mirrored landmark order is visible at a glance.
LANDMARK_COLOURS = ((255, 64, 64), (64, 160, 255), (255, 220, 0), (255, 0, 255), (0, 255, 160))


def draw_faces(image: Image.Image, faces: Sequence[DetectedFace], labels: Sequence[str] | None = None) -> Image.Image:
    """A copy of ``image`` (RGB) with each face's box, score (or ``labels[i]``) and five landmarks."""
    canvas = to_rgb(image).copy()
    draw = ImageDraw.Draw(canvas)
    line = max(2, round(max(canvas.size) / 400))
    for index, face in enumerate(faces):
        draw.rectangle(face.box, outline=(0, 255, 0), width=line)
        text = labels[index] if labels is not None else f"{face.score:.3f}"
        x1, y1 = face.box[0], face.box[1]
        draw.text((x1 + line, max(0.0, y1 - 12 - line)), text, fill=(0, 255, 0))
        radius = max(2.0, face.width / 40)
        for (x, y), colour in zip(face.landmarks, LANDMARK_COLOURS, strict=False):
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour)
    return canvas
