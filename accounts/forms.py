from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm

from accounts import lockout


class SignupForm(UserCreationForm):
    email = forms.EmailField(required=True, help_text="For password resets. Never shown to anyone.")

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this email already exists. Try resetting its password.")
        return email


class ProfileForm(forms.ModelForm):
    class Meta:
        model = get_user_model()
        fields = ("first_name", "last_name", "email")


class LoginForm(AuthenticationForm):
    """Django's log-in form with a lockout per username and per address (``accounts.lockout``)."""

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        if self.request is not None:
            try:
                lockout.check(self.request, username)
            except lockout.LockedOut as exc:
                raise forms.ValidationError(str(exc), code="locked_out") from None
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            if self.request is not None and self.cleaned_data.get("password"):
                lockout.failed(self.request, username)
            raise
        if self.request is not None:
            lockout.succeeded(self.request, username)
        return cleaned
