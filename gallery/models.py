"""Gallery models: a user's photos, the styles they can apply, and renders (styled results)."""

from __future__ import annotations

from pathlib import PurePosixPath

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.text import slugify

from nstsite.files import upload_to
from nstsite.models import BackgroundTask

# Named module-level callables (not lambdas) so migrations can reference them.
photo_path = upload_to("photos", name="photo_path", module=__name__)
thumb_path = upload_to("thumbs", name="thumb_path", module=__name__)
style_path = upload_to("styles", name="style_path", module=__name__)
render_path = upload_to("renders", name="render_path", module=__name__)
checkpoint_path = upload_to("checkpoints", name="checkpoint_path", module=__name__)
lab_path = upload_to("labs", name="lab_path", module=__name__)


class Photo(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="photos")
    # Re-encoded on upload with orientation applied and every EXIF field removed; the uploaded
    # bytes themselves are never stored.
    image = models.ImageField(upload_to=photo_path, width_field="width", height_field="height")
    thumbnail = models.ImageField(upload_to=thumb_path)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    original_name = models.CharField(max_length=255, blank=True)
    content_hash = models.CharField(max_length=64, help_text="sha256 of the uploaded file: finds duplicates")
    taken_at = models.DateTimeField(null=True, blank=True, help_text="from EXIF DateTimeOriginal, when present")
    created = models.DateTimeField(auto_now_add=True)

    # Not stored: what the upload that just created this photo should be told (set by photos_create).
    upload_notice: str = ""

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [models.UniqueConstraint(fields=["owner", "content_hash"], name="photo_unique_per_owner")]

    def __str__(self) -> str:
        return self.original_name or f"Photo {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("gallery:photo", args=[self.pk])

    @property
    def megapixels(self) -> float:
        return self.width * self.height / 1e6

    @property
    def slug(self) -> str:
        """The upload's name as a file-name stem: "Tübingen 2.JPG" → "tubingen-2"."""
        stem = PurePosixPath(self.original_name).stem if self.original_name else ""
        return slugify(stem)[:60].strip("-") or f"photo-{self.pk}"

    def download_name(self) -> str:
        suffix = PurePosixPath(self.image.name or "").suffix.lower() or ".jpg"
        return f"{self.slug}{suffix}"


class StyleKind(models.TextChoices):
    PRESET = "preset", "Built-in preset"
    IMAGE = "image", "Style image"
    FAST = "fast", "Trained fast model"


class Style(models.Model):
    kind = models.CharField(max_length=8, choices=StyleKind.choices)
    name = models.CharField(max_length=120)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="styles",
        help_text="Empty for global styles every user can apply.",
    )
    preset_id = models.PositiveSmallIntegerField(null=True, blank=True, unique=True, help_text="the engine's preset id")
    image = models.ImageField(upload_to=style_path, blank=True)
    checkpoint = models.FileField(upload_to=checkpoint_path, blank=True, help_text="TransformerNet weights")
    thumbnail = models.ImageField(upload_to=thumb_path, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "preset_id", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_global(self) -> bool:
        return self.owner_id is None


class RenderMethod(models.TextChoices):
    PRESET = "preset", "Preset (instant)"
    ARBITRARY = "arbitrary", "Any painting (fast)"
    GATYS = "gatys", "Gatys optimisation (slow, best)"
    FAST = "fast", "Trained fast model"


class Render(BackgroundTask):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="renders")
    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="renders")
    method = models.CharField(max_length=10, choices=RenderMethod.choices)
    styles = models.ManyToManyField(Style, through="RenderStyle", related_name="renders")
    params = models.JSONField(default=dict, blank=True, help_text="engine options as submitted, validated")
    notice = models.CharField(max_length=300, blank=True, help_text="e.g. that the size was reduced to fit")
    preview = models.ImageField(upload_to=render_path, blank=True)
    result = models.ImageField(upload_to=render_path, blank=True, width_field="width", height_field="height")
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    device = models.CharField(max_length=80, blank=True)
    seed = models.BigIntegerField(null=True, blank=True)
    estimated_seconds = models.FloatField(null=True, blank=True)
    iteration = models.PositiveIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"Render {self.pk} of photo {self.photo_id} ({self.method})"

    def get_absolute_url(self) -> str:
        return reverse("gallery:render", args=[self.pk])

    @property
    def method_label(self) -> str:
        """The method as this render ran it: "Gatys optimisation, draft" rather than the picker's
        "Gatys optimisation (slow, best)", which describes the method, not this run."""
        if self.method == RenderMethod.GATYS:
            return f"Gatys optimisation, {self.params.get('quality') or 'standard'}"
        return self.get_method_display()

    @property
    def style_names(self) -> str:
        return " + ".join(rs.style.name for rs in self.blend.select_related("style") if rs.style)

    def download_name(self) -> str:
        """``tubingen-starry-night.jpg``: the photo's name, then the styles (strongest first)."""
        names = [slugify(rs.style.name) for rs in self.blend.select_related("style") if rs.style]
        styles = "-".join(n for n in names[:2] if n) + ("-blend" if len(names) > 2 else "")
        if self.method == RenderMethod.GATYS:
            styles = f"{styles}-gatys" if styles else "gatys"
        return f"{self.photo.slug}-{(styles or self.method)[:60].strip('-')}.jpg"


class RenderStyle(models.Model):
    """One style in a render's blend, with its weight."""

    render = models.ForeignKey(Render, on_delete=models.CASCADE, related_name="blend")
    # A user deleting their style keeps renders made with it.
    style = models.ForeignKey(Style, on_delete=models.SET_NULL, null=True, related_name="+")
    weight = models.FloatField(default=1.0)

    class Meta:
        ordering = ["-weight", "id"]

    def __str__(self) -> str:
        return f"{self.style} × {self.weight:g}"


class StyleLab(BackgroundTask):
    """A grid of small Gatys renders of one photo and painting across α/β and style depth (one job)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="style_labs")
    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="style_labs")
    # A user deleting their painting keeps the lab's pictures (picking a cell then needs the painting).
    style = models.ForeignKey(Style, on_delete=models.SET_NULL, null=True, related_name="+")
    network = models.CharField(max_length=20)
    cell_size = models.PositiveSmallIntegerField(default=160)
    iterations = models.PositiveSmallIntegerField(default=30)
    # [{"row", "column", "depth", "ratio", "style_layers", "image"}], image = storage name once rendered
    cells = models.JSONField(default=list, blank=True)
    sheet = models.ImageField(upload_to=lab_path, blank=True, help_text="the whole grid, labelled")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"Style lab {self.pk} of photo {self.photo_id}"

    def get_absolute_url(self) -> str:
        return reverse("gallery:lab", args=[self.pk])

    @property
    def rows(self) -> list[list[tuple[int, dict[str, object]]]]:
        """Cells as rows of ``(index, cell)`` for the page (depth down, α/β across)."""
        grid: dict[int, list[tuple[int, dict[str, object]]]] = {}
        for index, cell in enumerate(self.cells):
            grid.setdefault(int(cell["row"]), []).append((index, cell))
        return [grid[row] for row in sorted(grid)]

    @property
    def ratios(self) -> list[float]:
        return [float(c["ratio"]) for c in self.cells if c["row"] == 0]
