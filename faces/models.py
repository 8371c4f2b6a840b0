"""Faces models: the people database, detected faces with their embeddings, and the jobs around them.

Embeddings live in one unconstrained pgvector column (``vector`` without a dimension) because
embedders differ in size (128 for dlib, 512 for FaceNet). Each row records its embedder, and
identification only compares rows of one embedder through a *partial* HNSW index per embedder
over ``embedding::vector(<dim>)`` (migration 0002); the SQL in :mod:`faces.identify`
uses the same cast and predicate so the planner picks that index.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.urls import reverse
from pgvector.django import VectorField

from nstsite.files import upload_to
from nstsite.models import BackgroundTask

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from gallery.models import Photo

upload_path = upload_to("faces/uploads", name="upload_path", module=__name__)
crop_path = upload_to("faces/crops", name="crop_path", module=__name__)
roc_path = upload_to("faces/roc", name="roc_path", module=__name__)


class PersonQuerySet(models.QuerySet["Person"]):
    def directory(self) -> PersonQuerySet:
        """The staff-managed directory: people with no owner."""
        return self.filter(owner__isnull=True)

    def of(self, user: User) -> PersonQuerySet:
        """``user``'s own people."""
        return self.filter(owner=user)

    def visible_to(self, user: User) -> PersonQuerySet:
        """Who ``user`` may name a face as: their own people and the directory (its hidden entries
        for staff only). Nobody else's people, ever."""
        directory = models.Q(owner__isnull=True) if user.is_staff else models.Q(owner__isnull=True, hidden=False)
        return self.filter(models.Q(owner=user) | directory)


class Person(models.Model):
    """Someone a face can be named as: one of a user's people, or a directory entry.

    *Your people* (``owner`` set) are created by a user naming a face in their own photo; only
    that user sees, uses or edits them. *The directory* (``owner`` null) is managed by staff and
    enrolled from photos uploaded for that purpose; every user's identification searches it.
    A person merged into another keeps its row (``merged_into``) so the merge can be undone with
    the same id; merged people are left out of every list and of identification.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="face_people",
        help_text="The user whose person this is; empty for the staff directory.",
    )
    directory_person = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="linked_people",
        help_text="A user's person linked to the directory entry they match (identified as this user's name).",
    )
    name = models.CharField(max_length=200)
    notes = models.TextField(blank=True)
    hidden = models.BooleanField(default=False, help_text="Hidden people are left out of identification and lists.")
    merged_into = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="merged")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    cover = models.ForeignKey(
        "Face", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", help_text="the face shown for them"
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = PersonQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name_plural = "people"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(owner__isnull=False) | models.Q(directory_person__isnull=True),
                name="person_only_users_people_link",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        if self.in_directory:
            return reverse("faces:directory-person", args=[self.pk])
        return reverse("faces:person", args=[self.pk])

    @property
    def in_directory(self) -> bool:
        return self.owner_id is None


class UploadPurpose(models.TextChoices):
    ENROLL = "enroll", "Enrollment photo"
    IDENTIFY = "identify", "Identification upload"


class Upload(models.Model):
    """An image uploaded to the faces app itself (never shown in the gallery).

    Enrollment photos belong to a person and go when the person goes; identification uploads
    belong to the user who sent them.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="face_uploads")
    purpose = models.CharField(max_length=10, choices=UploadPurpose.choices)
    person = models.ForeignKey(Person, on_delete=models.CASCADE, null=True, blank=True, related_name="uploads")
    # Re-encoded without metadata by nstsite.uploads, like every other upload.
    image = models.ImageField(upload_to=upload_path, width_field="width", height_field="height")
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    original_name = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return self.original_name or f"Upload {self.pk}"


class FaceScan(BackgroundTask):
    """One detection + identification run over a gallery photo or an upload (an RQ job's row)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="face_scans")
    photo = models.ForeignKey(
        "gallery.Photo", on_delete=models.CASCADE, null=True, blank=True, related_name="face_scans"
    )
    upload = models.ForeignKey(Upload, on_delete=models.CASCADE, null=True, blank=True, related_name="scans")
    embedder = models.CharField(max_length=40)
    face_count = models.PositiveIntegerField(null=True, blank=True)
    threshold = models.FloatField(null=True, blank=True, help_text="the unknown cut-off used (cosine distance)")
    notice = models.CharField(max_length=300, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(photo__isnull=True) ^ models.Q(upload__isnull=True), name="facescan_one_source"
            )
        ]

    def __str__(self) -> str:
        return f"Face scan {self.pk}"

    def get_absolute_url(self) -> str:
        if self.photo_id:
            return reverse("faces:photo", args=[self.photo_id])
        return reverse("faces:scan", args=[self.pk])

    @property
    def source(self) -> Photo | Upload | None:
        return self.photo if self.photo_id else self.upload


class Assignment(models.TextChoices):
    NONE = "", "Unassigned"
    # A directory reference: staff enrolled this face (or accepted a face its owner shared).
    # Every user's identification compares with it.
    ENROLLED = "enrolled", "Enrolled"
    # The photo's owner said so: never changed by automatic runs, and a reference for that owner
    # only (whoever the person is, their own or a directory entry).
    CONFIRMED = "confirmed", "Confirmed"
    AUTO = "auto", "Identified"  # the nearest-neighbour vote, under the threshold
    SUGGESTED = "suggested", "Suggested"  # a clustering suggestion, not yet accepted

    @classmethod
    def references(cls) -> tuple[str, str]:
        """Assignments that make a face a reference for identification: ``enrolled`` for everyone
        (the directory's partial HNSW index), ``confirmed`` for the face's owner only."""
        return (cls.ENROLLED.value, cls.CONFIRMED.value)

    @classmethod
    def kept(cls) -> tuple[str, str]:
        """Assignments automatic runs never overwrite."""
        return cls.references()


class Face(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="faces")
    photo = models.ForeignKey("gallery.Photo", on_delete=models.CASCADE, null=True, blank=True, related_name="faces")
    upload = models.ForeignKey(Upload, on_delete=models.CASCADE, null=True, blank=True, related_name="faces")
    # Box and landmarks in pixels of the stored (upright) image.
    x1 = models.FloatField()
    y1 = models.FloatField()
    x2 = models.FloatField()
    y2 = models.FloatField()
    landmarks = models.JSONField(default=list, help_text="five (x, y): eyes, nose, mouth corners")
    score = models.FloatField(help_text="detector probability")
    crop = models.ImageField(upload_to=crop_path, blank=True)
    embedding = VectorField(dimensions=None, null=True, blank=True)
    embedder = models.CharField(max_length=40, db_index=True)
    # RESTRICT, not CASCADE: deleting a person must never delete faces on users' photos. The
    # services unlink them first (they become unknown); deleting a user still cascades, because
    # their faces go in the same delete.
    person = models.ForeignKey(Person, on_delete=models.RESTRICT, null=True, blank=True, related_name="faces")
    assignment = models.CharField(max_length=10, choices=Assignment.choices, blank=True, default="")
    shared = models.BooleanField(
        default=False,
        help_text="The photo's owner offers this face to the directory: staff may then see it and enroll it.",
    )
    distance = models.FloatField(null=True, blank=True, help_text="cosine distance when identified")
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    rejected = models.ManyToManyField(Person, blank=True, related_name="rejected_faces", help_text="not this person")
    suggestion = models.ForeignKey("Suggestion", on_delete=models.SET_NULL, null=True, blank=True, related_name="faces")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["x1", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(photo__isnull=True) ^ models.Q(upload__isnull=True), name="face_one_source"
            ),
            # A face has a person exactly when it has an assignment; the partial index relies on it.
            models.CheckConstraint(
                condition=(models.Q(person__isnull=True) & models.Q(assignment=""))
                | (models.Q(person__isnull=False) & ~models.Q(assignment="")),
                name="face_person_iff_assignment",
            ),
        ]
        indexes = [
            models.Index(fields=["person", "assignment"], name="face_person_assignment"),
            # The owner's own references, searched exactly beside the directory's HNSW index.
            models.Index(
                fields=["owner", "embedder"], condition=models.Q(assignment="confirmed"), name="face_owner_references"
            ),
        ]

    def __str__(self) -> str:
        return f"Face {self.pk} ({self.person or 'unknown'})"

    @property
    def in_directory(self) -> bool:
        """On a directory enrollment photo, or shared by its owner: what staff may see."""
        return self.shared or (self.upload is not None and self.upload.purpose == UploadPurpose.ENROLL)

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)

    @property
    def is_kept(self) -> bool:
        return self.assignment in Assignment.kept()

    def crop_url(self) -> str:
        return reverse("faces:crop", args=[self.pk]) if self.crop else ""

    def box_percent(self, width: int, height: int) -> dict[str, float]:
        """The box as CSS percentages of the image, for overlays that scale with the image."""
        w, h = max(width, 1), max(height, 1)
        return {
            "left": 100.0 * self.x1 / w,
            "top": 100.0 * self.y1 / h,
            "width": 100.0 * (self.x2 - self.x1) / w,
            "height": 100.0 * (self.y2 - self.y1) / h,
        }


class Verification(BackgroundTask):
    """1:1 verification: is the face in ``a`` the same person as in ``b`` (or as ``person``)?"""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="face_verifications")
    photo_a = models.ForeignKey("gallery.Photo", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    upload_a = models.ForeignKey(Upload, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    photo_b = models.ForeignKey("gallery.Photo", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    upload_b = models.ForeignKey(Upload, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    embedder = models.CharField(max_length=40)
    same = models.BooleanField(null=True)
    distance = models.FloatField(null=True, blank=True)
    threshold = models.FloatField(null=True, blank=True)
    score = models.FloatField(null=True, blank=True)
    box_a = models.JSONField(null=True, blank=True)
    box_b = models.JSONField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"Verification {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("faces:verification", args=[self.pk])


class SuggestionKind(models.TextChoices):
    CLUSTER = "cluster", "Unknown face group"
    MERGE = "merge", "Possible duplicate people"


class SuggestionStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACCEPTED = "accepted", "Accepted"
    DISMISSED = "dismissed", "Dismissed"


class Clustering(BackgroundTask):
    """A clustering run: groups unassigned faces and proposes merges between people, for one
    owner's photos or (``owner`` empty) for the directory's enrollment photos."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="face_clusterings"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    embedder = models.CharField(max_length=40)
    eps = models.FloatField()
    min_faces = models.PositiveIntegerField()
    faces_considered = models.PositiveIntegerField(default=0)
    clusters_found = models.PositiveIntegerField(default=0)
    merges_found = models.PositiveIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]


class Suggestion(models.Model):
    """A group of unknown faces its owner may name (or dismiss), or two people that may be one.

    Suggestions belong to one user (groups of that user's unknown faces, merges of their people)
    or, with ``owner`` empty, to staff (faces of directory enrollment photos, directory merges).
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="face_suggestions"
    )
    clustering = models.ForeignKey(Clustering, on_delete=models.SET_NULL, null=True, related_name="suggestions")
    kind = models.CharField(max_length=8, choices=SuggestionKind.choices)
    status = models.CharField(max_length=9, choices=SuggestionStatus.choices, default=SuggestionStatus.OPEN)
    embedder = models.CharField(max_length=40)
    person_a = models.ForeignKey(Person, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    person_b = models.ForeignKey(Person, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    distance = models.FloatField(null=True, blank=True, help_text="closest pair of faces (merge suggestions)")
    size = models.PositiveIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)
    decided = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-size", "distance", "id"]

    def __str__(self) -> str:
        if self.kind == SuggestionKind.MERGE:
            return f"{self.person_a} = {self.person_b}?"
        return f"{self.size} unknown faces"


class Calibration(BackgroundTask):
    """Threshold calibration of one embedder on the directory's enrolled people, for a target FAR.

    A finished calibration is a *proposal*: it is used only once staff apply it (``applied``).
    """

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    embedder = models.CharField(max_length=40)
    target_far = models.FloatField()
    threshold = models.FloatField(null=True, blank=True)
    people = models.PositiveIntegerField(default=0)
    faces = models.PositiveIntegerField(default=0)
    genuine_pairs = models.PositiveIntegerField(default=0)
    impostor_pairs = models.PositiveIntegerField(default=0)
    tar = models.FloatField(null=True, blank=True, help_text="share of genuine pairs accepted at the threshold")
    far = models.FloatField(null=True, blank=True, help_text="share of impostor pairs accepted at the threshold")
    auc = models.FloatField(null=True, blank=True)
    roc = models.ImageField(upload_to=roc_path, blank=True)
    names_lost = models.PositiveIntegerField(
        null=True, blank=True, help_text="automatic names that would turn unknown under the proposed threshold"
    )
    names_gained = models.PositiveIntegerField(
        null=True, blank=True, help_text="suggestions that would become names under the proposed threshold"
    )
    applied = models.DateTimeField(null=True, blank=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]


class ThresholdOverride(models.Model):
    """A manual threshold for one embedder; it wins over calibration until removed."""

    embedder = models.CharField(max_length=40, unique=True)
    threshold = models.FloatField()
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    updated = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.embedder}: {self.threshold}"


class EventAction(models.TextChoices):
    CREATE = "create", "Created"
    ENROLL = "enroll", "Enrolled a face"
    RENAME = "rename", "Renamed"
    MERGE = "merge", "Merged"
    UNMERGE = "unmerge", "Undid a merge"
    REASSIGN = "reassign", "Named a face"
    CONFIRM = "confirm", "Confirmed a face"
    REJECT = "reject", "Not this person"
    HIDE = "hide", "Hidden"
    UNHIDE = "unhide", "Shown"
    DELETE = "delete", "Deleted"
    LINK = "link", "Linked to the directory"
    UNDO = "undo", "Undid a change"


class PeopleEvent(models.Model):
    """The audit log of people edits. Never holds biometric data: ids, names and counts only.

    A merge event keeps what is needed to undo it (the faces and enrollment photos it moved);
    a naming or "not this person" keeps the face's previous state. ``owner`` is the user whose
    people the edit was about (empty: the directory): staff see only directory events.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="face_events"
    )
    action = models.CharField(max_length=10, choices=EventAction.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    person = models.ForeignKey(Person, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    other = models.ForeignKey(Person, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    person_name = models.CharField(max_length=200, blank=True, help_text="the name at the time")
    other_name = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    undone = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.person_name}"

    @property
    def can_undo(self) -> bool:
        return (
            self.action in (EventAction.MERGE, EventAction.RENAME, EventAction.REASSIGN, EventAction.REJECT)
            and self.undone is None
            and (self.person_id is not None or self.action == EventAction.REJECT)
        )


class FaceSettings(models.Model):
    """A user's face-recognition choice. Off: no embeddings are computed or kept for their photos."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="face_settings")
    recognition = models.BooleanField(
        default=True, help_text="Find and recognise faces in my photos (embeddings are biometric data)."
    )
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "face settings"

    def __str__(self) -> str:
        return f"{self.user}: recognition {'on' if self.recognition else 'off'}"

    @classmethod
    def recognition_on(cls, user_id: int) -> bool:
        return not cls.objects.filter(user_id=user_id, recognition=False).exists()


class Reidentification(BackgroundTask):
    """A background pass that names again the unconfirmed faces of one owner (or, with ``owner``
    empty, of every owner) after people gained reference faces or the threshold changed."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    embedder = models.CharField(max_length=40)
    reason = models.CharField(max_length=100, blank=True)
    faces_checked = models.PositiveIntegerField(default=0)
    faces_changed = models.PositiveIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"Re-identification {self.pk}"
