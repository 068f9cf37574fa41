"""Browser forms of the people pages; the rules are the services'."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _

from contracts.models import Membership, Organization
from contracts.models.parties import _timezones
from people.models import Profile
from people.preferences import default_language
from people.topics import CHANNELS, TOPICS


class InviteForm(forms.Form):
    organization = forms.ModelChoiceField(
        queryset=Organization.objects.none(),
        label=_("Organisation"),
        help_text=_("The organisation they join."),
    )
    email = forms.EmailField(max_length=254, label=_("E-mail"))
    role = forms.ChoiceField(
        label=_("Role"),
        choices=Membership.Role.choices,
        initial=Membership.Role.VIEWER,
        help_text=_("Admins manage members; editors change data; viewers read."),
    )

    def __init__(self, *args: Any, organizations: QuerySet[Organization], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations
        if len(organizations) == 1:
            self.fields["organization"].initial = organizations[0]


class InviteCustomerForm(forms.Form):
    provider = forms.ModelChoiceField(queryset=Organization.objects.none(), label=_("Provider"))
    customer_name = forms.CharField(
        max_length=200,
        label=_("Customer organisation"),
        help_text=_("Created with the invitation."),
    )
    email = forms.EmailField(
        max_length=254, label=_("Its first admin's e-mail"), help_text=_("They manage its members.")
    )

    def __init__(self, *args: Any, providers: QuerySet[Organization], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["provider"].queryset = providers
        if len(providers) == 1:
            self.fields["provider"].initial = providers[0]


class SignUpForm(forms.Form):
    """The account of someone accepting an invitation; the e-mail is the invitation's."""

    username = forms.CharField(
        max_length=150, label=_("Username"), help_text=_("What you will log in with.")
    )
    password = forms.CharField(
        widget=forms.PasswordInput, strip=False, max_length=128, label=_("Password")
    )
    password_again = forms.CharField(
        widget=forms.PasswordInput, strip=False, max_length=128, label=_("Password again")
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", _("The two passwords differ."))
        return data


class PreferencesForm(forms.Form):
    """One checkbox per topic and channel: ``<topic>__<channel>``."""

    def __init__(self, *args: Any, current: dict[str, dict[str, bool]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for topic, label in TOPICS.items():
            for channel, channel_label in CHANNELS.items():
                self.fields[f"{topic}__{channel}"] = forms.BooleanField(
                    required=False,
                    initial=current[topic][channel],
                    label=f"{label}: {channel_label}",
                )

    def rows(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [
            (label, [self[f"{topic}__{channel}"] for channel in CHANNELS])
            for topic, label in TOPICS.items()
        ]

    def choices(self) -> dict[str, dict[str, bool]]:
        return {
            topic: {channel: self.cleaned_data[f"{topic}__{channel}"] for channel in CHANNELS}
            for topic in TOPICS
        }


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)


class ReadingChoicesForm(forms.Form):
    """The language pages, e-mails and PDFs are written in, and the zone of every time."""

    language = forms.ChoiceField(
        label=_("Language"),
        choices=[
            ("", _("As my browser asks")),
            (Profile.Language.ENGLISH, "English"),
            (Profile.Language.GERMAN, "Deutsch"),
        ],
        required=False,
        error_messages={"invalid_choice": _("Choose English, Deutsch or as your browser asks.")},
    )
    timezone = forms.CharField(
        label=_("Time zone"),
        max_length=64,
        required=False,
        # The page lists the IANA zones in this datalist (``zones`` of the view).
        widget=forms.TextInput(
            attrs={"list": "zones", "autocomplete": "off", "spellcheck": "false"}
        ),
    )

    def __init__(
        self, *args: Any, organization_zone: str, profile: Profile | None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["language"].help_text = _language_in_effect(profile)
        self.fields["timezone"].help_text = _(
            "An IANA zone such as Europe/Berlin or Asia/Tokyo. Leave it blank to read times "
            "in your organisation's zone (%(zone)s)."
        ) % {"zone": organization_zone}

    def clean_timezone(self) -> str:
        zone = self.cleaned_data["timezone"].strip()
        if zone and zone not in _timezones():
            raise ValidationError(
                _(
                    "“%(zone)s” is not a time zone: choose one from the list, such as "
                    "Europe/Berlin."
                ),
                params={"zone": zone},
            )
        return zone


def _language_in_effect(profile: Profile | None) -> str:
    """Which language e-mails and notifications are written in now, and why
    (``people.preferences.language_for``): the own choice, else the browser's, else the
    site's."""
    own = profile.language if profile is not None else ""
    browser = profile.browser_language if profile is not None else ""
    if own:
        text = _("In effect: %(language)s, your own choice.")
    elif browser:
        text = _(
            "In effect: %(language)s, as your browser asks; e-mails and notifications "
            "follow it too."
        )
    else:
        text = _("In effect: %(language)s, the site's language.")
    code = own or browser or default_language()
    return text % {"language": get_language_info(code)["name_translated"]}
