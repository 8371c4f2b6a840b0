from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django import forms

from faces.models import Person

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; each is validated later by nstsite.uploads (allowlist + full decode)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget",
            MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp,image/heic,image/heif,.heic,.heif"}),
        )
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else []


IMAGE_ATTRS = {"accept": "image/jpeg,image/png,image/webp,image/heic,image/heif,.heic,.heif"}


class PersonForm(forms.Form):
    name = forms.CharField(max_length=200)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class PersonCreateForm(PersonForm):
    photos = MultipleFileField(required=False, help_text="Photos of this person (JPEG, PNG or WebP).")


class PersonEditForm(PersonForm):
    hidden = forms.BooleanField(required=False, help_text="Leave this person out of identification and lists.")


class EnrollForm(forms.Form):
    photos = MultipleFileField(help_text="More photos of this person.")


class MergeForm(forms.Form):
    into = forms.ModelChoiceField(queryset=Person.objects.none(), label="Merge into")

    def __init__(self, *args: Any, person: Person, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["into"]).queryset = Person.objects.filter(
            merged_into__isnull=True, owner_id=person.owner_id
        ).exclude(pk=person.pk)


class MyPersonForm(forms.Form):
    """One of your people: rename, hide, or merge into another of yours."""

    name = forms.CharField(max_length=200)
    hidden = forms.BooleanField(required=False, help_text="Leave them out of your lists and of identification.")
    merge_into = forms.ModelChoiceField(
        queryset=Person.objects.none(),
        required=False,
        label="Merge into",
        help_text="Same person? Undo from the history.",
    )

    def __init__(self, *args: Any, user: User, person: Person, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["merge_into"]).queryset = Person.objects.filter(
            owner=user, merged_into__isnull=True
        ).exclude(pk=person.pk)


class IdentifyForm(forms.Form):
    image = forms.FileField(label="Photo", widget=forms.ClearableFileInput(attrs=IMAGE_ATTRS))


class VerifyForm(forms.Form):
    image_a = forms.FileField(label="First photo", widget=forms.ClearableFileInput(attrs=IMAGE_ATTRS))
    image_b = forms.FileField(label="Second photo", required=False, widget=forms.ClearableFileInput(attrs=IMAGE_ATTRS))
    person = forms.ModelChoiceField(
        queryset=Person.objects.none(), required=False, label="…or compare with a person (staff)"
    )

    def __init__(self, *args: Any, staff: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if staff:
            cast(forms.ModelChoiceField, self.fields["person"]).queryset = Person.objects.filter(
                merged_into__isnull=True, owner__isnull=True
            )
        else:
            del self.fields["person"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data  # what Form.clean() returns (its stub allows None for overrides)
        if bool(data.get("image_b")) == bool(data.get("person")):
            raise forms.ValidationError("Give a second photo or pick a person (one of them).")
        return data


class AssignForm(forms.Form):
    name = forms.CharField(max_length=200, label="Who is this?")


class ThresholdForm(forms.Form):
    threshold = forms.FloatField(
        min_value=0.001, max_value=1.999, required=False, help_text="Empty: remove the override."
    )


class CalibrateForm(forms.Form):
    target_far = forms.FloatField(min_value=1e-6, max_value=0.5, label="Target false-accept rate")


class NameSuggestionForm(forms.Form):
    name = forms.CharField(max_length=200)
