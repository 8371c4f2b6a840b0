from __future__ import annotations

from django import forms


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Django's documented recipe for a field holding several files."""

    def clean(self, data, initial=None):
        single = super().clean
        return [single(d, initial) for d in data] if isinstance(data, list | tuple) else [single(data, initial)]


class UploadForm(forms.Form):
    """The no-JavaScript fallback of the upload page (the page itself uploads file by file)."""

    images = MultipleFileField(
        widget=MultipleFileInput(
            attrs={"multiple": True, "accept": "image/jpeg,image/png,image/webp,image/heic,image/heif,.heic,.heif"}
        ),
        help_text="JPEG, PNG, WebP or HEIC.",
    )


class StyleUploadForm(forms.Form):
    image = forms.FileField(
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/jpeg,image/png,image/webp,image/heic,image/heif,.heic,.heif"}
        )
    )
    name = forms.CharField(max_length=120, required=False)
