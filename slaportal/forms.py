"""The login forms, with the username bounded like the user's column."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxLengthValidator


class BoundedUsernameMixin:
    """Django gives the username field a ``max_length`` but no validator for it, so a
    longer name reached authentication, and axes failed to record the attempt in its own
    column of 255 characters: a 500. A name longer than any user's is a form error."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["username"]  # type: ignore[attr-defined]
        field.validators.append(MaxLengthValidator(field.max_length))


class LoginForm(BoundedUsernameMixin, AuthenticationForm):
    pass


class AdminLoginForm(BoundedUsernameMixin, AdminAuthenticationForm):
    pass
