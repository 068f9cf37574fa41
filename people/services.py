"""Writes of people's things: invitations and their acceptance, the organisation a person
acts for, notification choices, API tokens, members' roles and leaving an organisation,
and the organisation's webhooks.

Views, serializers, forms and the admin call these, so the browser, the API and the admin
cannot disagree about who may invite whom. Outsiders get ``DoesNotExist`` (a 404, as for
a missing id); bad input gets a ``ValidationError`` with a message per field and changes
nothing.

Who may invite (SPEC §6): an organisation's admins invite into it, with any role; a
provider's admins invite the first admin of a customer: a new customer (created with the
invitation, introduced by the provider) or one they already serve. Staff may do either.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext
from rest_framework.authtoken.models import Token

from contracts.models import Membership, Organization
from contracts.querysets import customers_served_by, is_anonymous, member_org_ids
from contracts.services import delete_membership, save_membership
from people import preferences, tokens
from people.models import Invitation, NotificationPreference, OrganizationChoice, Webhook
from people.signals import member_joined
from people.topics import CHANNELS, TOPICS

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser as User

logger = logging.getLogger(__name__)

ROLES = Membership.Role
NOT_ADMIN = "You do not administer this organisation, so you cannot invite into it."


# --------------------------------------------------------------------------- inviting


def _role(role: object) -> str:
    if role not in ROLES.values:
        raise ValidationError(
            {
                "role": gettext("“%(role)s” is not a role: choose one of %(roles)s.")
                % {"role": role, "roles": ", ".join(ROLES.values)}
            }
        )
    return str(role)


def _email(email: object) -> str:
    address = str(email or "").strip()
    try:
        validate_email(address)
    except ValidationError:
        raise ValidationError({"email": gettext("Enter a valid e-mail address.")}) from None
    return address


def _inviting_organization(user: User, organization: Organization) -> Organization:
    """The organisation on whose behalf the user invites into ``organization``: itself
    when the user administers it, else a provider the user administers that serves it."""
    if (
        user.is_staff
        or Membership.objects.filter(
            user_id=user.pk, organization=organization, role=ROLES.ADMIN
        ).exists()
    ):
        return organization
    if organization.kind == Organization.Kind.CUSTOMER:
        providers = Organization.objects.filter(
            kind=Organization.Kind.PROVIDER, id__in=member_org_ids(user, (ROLES.ADMIN,))
        )
        served = customers_served_by(providers).filter(pk=organization.pk).exists()
        if served:
            provider = providers.filter(
                Q(introduced__pk=organization.pk) | Q(contracts_as_provider__customer=organization)
            ).first()
            if provider is not None:
                return provider
    raise ValidationError({"organization": NOT_ADMIN})


def check_invitable(*, organization: Organization, email: str, role: str) -> None:
    """Whether ``email`` may be invited into ``organization`` with ``role`` (whoever
    invites): a known role, a valid address, not a member yet, no pending invitation."""
    _role(role)
    _check_not_member(organization, _email(email))


def _check_not_member(organization: Organization, email: str) -> None:
    if Membership.objects.filter(
        organization=organization, user__email__iexact=email, user__is_active=True
    ).exists():
        raise ValidationError(
            {
                "email": gettext("%(email)s is already a member of %(organization)s.")
                % {"email": email, "organization": organization.name}
            }
        )
    if Invitation.objects.filter(
        organization=organization, email__iexact=email, status=Invitation.Status.PENDING
    ).exists():
        raise ValidationError(
            {
                "email": gettext(
                    "%(email)s already has a pending invitation to %(organization)s: resend or "
                    "revoke it."
                )
                % {"email": email, "organization": organization.name}
            }
        )


def invite(*, user: User, organization: Organization | int, email: str, role: str) -> Invitation:
    """Invite ``email`` into an existing organisation with ``role``; the e-mail with the
    signed link goes once committed. ``organization`` must be visible to the user (else
    ``Organization.DoesNotExist``) and administered by them, or a customer a provider
    they administer serves."""
    org_id = organization.pk if isinstance(organization, Organization) else organization
    organization = Organization.objects.visible_to(user).get(pk=org_id)
    role = _role(role)
    email = _email(email)
    inviting = _inviting_organization(user, organization)
    return _create(user=user, organization=organization, inviting=inviting, email=email, role=role)


def invite_customer(
    *, user: User, provider: Organization | int, name: str, email: str
) -> Invitation:
    """A provider's admin invites a new customer organisation, ``name``, and its first
    admin, ``email``. The customer is created now, introduced by the provider, so that the
    provider can prepare its contract while the invitation waits."""
    provider_id = provider.pk if isinstance(provider, Organization) else provider
    provider = Organization.objects.visible_to(user).get(pk=provider_id)
    errors: dict[str, str] = {}
    if provider.kind != Organization.Kind.PROVIDER:
        errors["provider"] = "Only a provider invites a new customer."
    elif not (
        user.is_staff
        or Membership.objects.filter(
            user_id=user.pk, organization=provider, role=ROLES.ADMIN
        ).exists()
    ):
        errors["provider"] = NOT_ADMIN
    name = " ".join(str(name or "").split())
    if not name:
        errors["customer_name"] = "Name the customer organisation."
    elif len(name) > Organization._meta.get_field("name").max_length:
        errors["customer_name"] = "At most 200 characters."
    try:
        email = _email(email)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        customer = Organization(
            name=name,
            slug=_free_slug(name),
            kind=Organization.Kind.CUSTOMER,
            introduced_by=provider,
        )
        customer.full_clean()
        customer.save()
        return _create(
            user=user, organization=customer, inviting=provider, email=email, role=ROLES.ADMIN
        )


def _free_slug(name: str) -> str:
    base = (slugify(name) or "customer")[:70]
    slug, n = base, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def _create(
    *, user: User, organization: Organization, inviting: Organization, email: str, role: str
) -> Invitation:
    now = timezone.now()
    with transaction.atomic():
        _check_not_member(organization, email)
        invitation = Invitation(
            organization=organization,
            invited_by_organization=inviting,
            email=email,
            role=role,
            created_by=user,
            sent_at=now,
            expires_at=now + tokens.expiry(),
        )
        invitation._history_user = user
        try:
            with transaction.atomic():
                invitation.save()
        except IntegrityError:
            # Another request invited the same address a moment ago.
            raise ValidationError(
                {
                    "email": gettext(
                        "%(email)s already has a pending invitation to %(organization)s."
                    )
                    % {"email": email, "organization": organization.name}
                }
            ) from None
        transaction.on_commit(partial(send_invitation_email, invitation.pk), robust=True)
    return invitation


def invitation_link(invitation: Invitation) -> str:
    path = reverse("invitation-accept", args=[tokens.token_for(invitation.key)])
    return settings.SITE_URL.rstrip("/") + path


def send_invitation_email(invitation_id: int) -> None:
    """Send the invitation's e-mail with a freshly signed link (after commit)."""
    invitation = Invitation.objects.select_related(
        "organization", "invited_by_organization", "created_by"
    ).get(pk=invitation_id)
    context = {
        "invitation": invitation,
        "link": invitation_link(invitation),
        "inviter": invitation.created_by.get_username() if invitation.created_by else "",
        "site_url": settings.SITE_URL,
        "days": settings.INVITATION_EXPIRY_DAYS,
    }
    with translation.override(_invitation_language(invitation)):
        subject = gettext("You are invited to %(organization)s on the SLA Portal") % {
            "organization": invitation.organization.name
        }
        message = EmailMultiAlternatives(
            subject=" ".join(subject.split())[:250],
            body=render_to_string("people/email/invitation.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[invitation.email],
        )
        message.attach_alternative(
            render_to_string("people/email/invitation.html", context), "text/html"
        )
    message.send(fail_silently=False)


def _invitation_language(invitation: Invitation) -> str:
    """The addressee's own language if they already have an account, else the language of
    the person inviting (who likely shares it), else the site's."""
    addressee = get_user_model().objects.filter(email__iexact=invitation.email).first()
    return (
        preferences.language_for(addressee)
        or preferences.language_for(invitation.created_by)
        or preferences.default_language()
    )


def _managed(user: User, invitation: Invitation | int) -> Invitation:
    invitation_id = invitation.pk if isinstance(invitation, Invitation) else invitation
    return Invitation.objects.visible_to(user).select_for_update(of=("self",)).get(pk=invitation_id)


def revoke(*, user: User, invitation: Invitation | int) -> Invitation:
    """Revoke a pending (or expired) invitation: its link then opens a page saying so."""
    with transaction.atomic():
        invitation = _managed(user, invitation)
        if invitation.status != Invitation.Status.PENDING:
            already = (
                gettext("This invitation was already accepted.")
                if invitation.status == Invitation.Status.ACCEPTED
                else gettext("This invitation was already revoked.")
            )
            raise ValidationError({"status": already})
        invitation.status = Invitation.Status.REVOKED
        invitation.revoked_by = user
        invitation.revoked_at = timezone.now()
        invitation._history_user = user
        invitation.save()
    return invitation


def resend(*, user: User, invitation: Invitation | int) -> Invitation:
    """Send a pending (or expired) invitation again, valid for the full time from now."""
    with transaction.atomic():
        invitation = _managed(user, invitation)
        if invitation.status != Invitation.Status.PENDING:
            ended = (
                gettext("This invitation was accepted: invite again.")
                if invitation.status == Invitation.Status.ACCEPTED
                else gettext("This invitation was revoked: invite again.")
            )
            raise ValidationError({"status": ended})
        now = timezone.now()
        invitation.sent_at = now
        invitation.expires_at = now + tokens.expiry()
        invitation._history_user = user
        invitation.save()
        transaction.on_commit(partial(send_invitation_email, invitation.pk), robust=True)
    return invitation


# --------------------------------------------------------------------------- accepting


class InvitationRefused(Exception):
    """Why a link cannot be accepted: ``reason`` is invalid, expired, accepted, revoked,
    other_email or has_account; ``invitation`` is known for all but invalid (and an old
    expired link). ``message`` says it in a sentence (the API's answer; the browser's page
    says it at more length)."""

    def __init__(self, reason: str, invitation: Invitation | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.invitation = invitation

    @property
    def message(self) -> str:
        invitation = self.invitation
        if self.reason == "expired" and invitation is not None:
            return (
                f"This invitation expired on {invitation.expires_at:%Y-%m-%d %H:%M} UTC: ask "
                f"{invitation.invited_by_organization.name} to send it again. Nothing was changed."
            )
        return REFUSALS.get(self.reason, REFUSALS["invalid"])


REFUSALS = {
    "invalid": "This invitation link is not valid: open it again from the e-mail, or ask for "
    "a new invitation. Nothing was changed.",
    "expired": "This invitation link has expired: ask for it to be sent again. Nothing was "
    "changed.",
    "accepted": "This invitation was already accepted: a link joins once. Nothing was changed.",
    "revoked": "This invitation was revoked: ask for a new one if you still need access. "
    "Nothing was changed.",
    "other_email": "This invitation was sent to another e-mail address than your account's: "
    "accept it as its addressee. Nothing was changed.",
    "has_account": "An account with this invitation's address exists: authenticate as it and "
    "accept again. Nothing was changed.",
}


@dataclass
class Opened:
    """An invitation link that can be accepted, and whether its address has an account."""

    invitation: Invitation
    existing_user: bool


def open_link(token: str, *, user: User | None = None) -> Opened:
    """The invitation a link stands for, if it can still be accepted (by ``user``, when
    given); ``InvitationRefused`` saying why not. Reads only."""
    try:
        key = tokens.key_of(token)
    except tokens.BadLink as exc:
        raise InvitationRefused(str(exc)) from None
    invitation = (
        Invitation.objects.select_related("organization", "invited_by_organization", "created_by")
        .filter(key=key)
        .first()
    )
    if invitation is None:
        raise InvitationRefused("invalid")
    _check_acceptable(invitation, user)
    existing = get_user_model().objects.filter(email__iexact=invitation.email, is_active=True)
    return Opened(invitation=invitation, existing_user=existing.exists())


def _check_acceptable(invitation: Invitation, user: User | None) -> None:
    state = invitation.state()
    if state != "pending":
        raise InvitationRefused(state, invitation)
    signed_in = user is not None and not is_anonymous(user)
    if signed_in and (user.email or "").strip().lower() != invitation.email.lower():
        raise InvitationRefused("other_email", invitation)


def _accept(invitation_id: int, user: User) -> Membership:
    """Within a transaction: take the invitation (once: the row is locked and must still
    be pending) and make the user a member."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation_id)
    _check_acceptable(invitation, user)
    membership, _created = Membership.objects.get_or_create(
        user=user, organization_id=invitation.organization_id, defaults={"role": invitation.role}
    )
    invitation.status = Invitation.Status.ACCEPTED
    invitation.accepted_by = user
    invitation.accepted_at = timezone.now()
    invitation._history_user = user
    invitation.save()
    member_joined.send(sender=Invitation, invitation=invitation)
    return membership


def accept(*, token: str, user: User) -> Membership:
    """A signed-in person accepts: the invitation must be for their e-mail address.
    Single use: a second acceptance (or one racing it) is refused as "accepted"."""
    opened = open_link(token, user=user)
    with transaction.atomic():
        return _accept(opened.invitation.pk, user)


def accept_as_new_user(*, token: str, username: str, password: str) -> User:
    """Someone without an account accepts: the account is created with the invitation's
    address (Django's validators judge the name and password), then joins."""
    opened = open_link(token)
    if opened.existing_user:
        raise InvitationRefused("has_account", opened.invitation)
    model = get_user_model()
    user = model(username=str(username or "").strip(), email=opened.invitation.email)
    errors: dict[str, list[str]] = {}
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    with transaction.atomic():
        user.save()
        _accept(opened.invitation.pk, user)
    return user


# --------------------------------------------------------------------------- the person


def choose_organization(*, user: User, organization: Organization | int) -> Organization:
    """Act for one of the user's organisations; ``Organization.DoesNotExist`` for one the
    user is not a member of."""
    org_id = organization.pk if isinstance(organization, Organization) else organization
    organization = Organization.objects.filter(id__in=member_org_ids(user)).get(pk=org_id)
    OrganizationChoice.objects.update_or_create(user=user, defaults={"organization": organization})
    return organization


def set_preferences(*, user: User, choices: dict[str, dict[str, bool]]) -> None:
    """Store the user's channels per topic (``{"dispute": {"email": False, …}}``);
    channels left out keep their value. Unknown topics or channels, or a value that is
    not true or false, are a ``ValidationError`` and nothing is stored."""
    errors: dict[str, str] = {}
    for topic, channels in choices.items():
        if topic not in TOPICS:
            errors[str(topic)] = f"Unknown topic; choose among {', '.join(TOPICS)}."
        elif not isinstance(channels, dict):
            errors[topic] = 'Give the channels as an object, e.g. {"email": false}.'
        else:
            for channel, value in channels.items():
                if channel not in CHANNELS:
                    errors[topic] = (
                        f"Unknown channel {channel!r}; choose among {', '.join(CHANNELS)}."
                    )
                elif not isinstance(value, bool):
                    errors[topic] = f"{channel} must be true or false."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        for topic, channels in choices.items():
            row, _ = NotificationPreference.objects.select_for_update().get_or_create(
                user=user, topic=topic
            )
            for channel, value in channels.items():
                setattr(row, channel, value)
            row._history_user = user
            row.save()


def revoke_token(*, user: User, prefix: str) -> None:
    """Revoke one of the user's API tokens, named by its first characters (at least 8);
    ``Token.DoesNotExist`` for any other."""
    prefix = str(prefix or "")
    if len(prefix) < 8:
        raise Token.DoesNotExist
    Token.objects.filter(user_id=user.pk).get(key__startswith=prefix).delete()


def change_role(*, membership: Membership, role: str, user: User | None) -> Membership:
    """Give a member another role (kept in the membership's history); the organisation's
    last admin is not demoted (a ``ValidationError``, nothing changed)."""
    role = _role(role)
    membership = Membership.objects.get(pk=membership.pk)
    membership.role = role
    membership._history_user = user
    return save_membership(membership=membership)


def leave_organization(*, membership: Membership, user: User | None) -> None:
    """End a membership: the person's pages, sessions and tokens stop showing the
    organisation's data at their next request (every read is scoped per request), and a
    choice to act for it is forgotten. The organisation's last admin does not leave (a
    ``ValidationError``, nothing changed)."""
    with transaction.atomic():
        OrganizationChoice.objects.filter(
            user_id=membership.user_id, organization_id=membership.organization_id
        ).delete()
        delete_membership(membership=membership, user=user)


# --------------------------------------------------------------------------- webhooks


def save_webhook(*, webhook: Webhook, user: User | None) -> Webhook:
    """Validate and store one of an organisation's webhooks (new or changed); the caller
    found the organisation among those the user administers. Its topics are kept in the
    order of ``people.topics``."""
    if isinstance(webhook.topics, list) and all(isinstance(t, str) for t in webhook.topics):
        chosen = set(webhook.topics)
        if len(chosen) == len(webhook.topics) and chosen <= set(TOPICS):
            webhook.topics = [topic for topic in TOPICS if topic in chosen]
    with transaction.atomic():
        webhook.full_clean()
        webhook._history_user = user
        webhook.save()
    return webhook


def delete_webhook(*, webhook: Webhook, user: User | None) -> None:
    """Remove a webhook: deliveries still pending for it are refused, not sent."""
    with transaction.atomic():
        webhook._history_user = user
        webhook.delete()
