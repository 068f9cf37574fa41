"""Browser pages of the people app: invitations and accepting them, members, the
organisation one acts for, notification choices and API tokens."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework.authtoken.models import Token

from contracts.models import Membership, Organization
from contracts.models.parties import _timezones
from contracts.views.common import apply_form_errors
from people import selectors, services
from people.forms import (
    InviteCustomerForm,
    InviteForm,
    MemberRoleForm,
    PreferencesForm,
    ReadingChoicesForm,
    SignUpForm,
)
from people.preferences import profile_of, remember_language, set_reading_choices
from people.timezones import remember_viewer_timezone

# --------------------------------------------------------------------------- invitations


@login_required
@require_http_methods(["GET", "POST"])
def invitation_list(request: HttpRequest) -> HttpResponse:
    """The invitations the user manages, and the forms to invite."""
    user = request.user
    organizations = selectors.invitable_organizations(user)
    providers = selectors.administered(user, Organization.Kind.PROVIDER).order_by("name")
    # Prefixed: both forms have an e-mail field, and ids must stay unique on the page.
    invite_form = InviteForm(
        request.POST if request.POST.get("form") == "member" else None,
        organizations=organizations,
        prefix="member",
    )
    customer_form = InviteCustomerForm(
        request.POST if request.POST.get("form") == "customer" else None,
        providers=providers,
        prefix="customer",
    )
    status_code = 200
    if request.method == "POST":
        form = invite_form if request.POST.get("form") == "member" else customer_form
        if form.is_valid():
            data = form.cleaned_data
            try:
                if form is invite_form:
                    invitation = services.invite(
                        user=user,
                        organization=data["organization"],
                        email=data["email"],
                        role=data["role"],
                    )
                else:
                    invitation = services.invite_customer(
                        user=user,
                        provider=data["provider"],
                        name=data["customer_name"],
                        email=data["email"],
                    )
            except ValidationError as exc:
                apply_form_errors(form, exc)
            else:
                messages.success(
                    request,
                    gettext("Invitation sent to %(email)s to join %(organization)s as %(role)s.")
                    % {
                        "email": invitation.email,
                        "organization": invitation.organization.name,
                        "role": invitation.get_role_display().lower(),
                    },
                )
                return redirect("invitation-list")
        status_code = 400
    if not organizations.exists() and not providers.exists():
        # Only admins invite: for anyone else there is nothing here.
        return render(request, "people/not_admin.html", status=403)
    now = timezone.now()
    invitations = list(selectors.invitations(user).order_by("-created_at")[:200])
    for invitation in invitations:
        invitation.current_state = invitation.state(now)
    return render(
        request,
        "people/invitation_list.html",
        {
            "invitations": invitations,
            "days": settings.INVITATION_EXPIRY_DAYS,
            "invite_form": invite_form,
            "customer_form": customer_form,
            "providers": providers,
        },
        status=status_code,
    )


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = get_object_or_404(selectors.invitations(request.user), pk=pk)
    try:
        services.revoke(user=request.user, invitation=invitation)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, gettext("Invitation of %(email)s revoked.") % {"email": invitation.email}
        )
    return redirect("invitation-list")


@login_required
@require_POST
def invitation_resend(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = get_object_or_404(selectors.invitations(request.user), pk=pk)
    try:
        services.resend(user=request.user, invitation=invitation)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, gettext("Invitation sent again to %(email)s.") % {"email": invitation.email}
        )
    return redirect("invitation-list")


def _refused(request: HttpRequest, refusal: services.InvitationRefused) -> HttpResponse:
    # A clear page for every link that cannot be used, never an error page.
    statuses = {"invalid": 404, "other_email": 403, "has_account": 409}
    return render(
        request,
        "people/invitation_refused.html",
        {"reason": refusal.reason, "invitation": refusal.invitation},
        status=statuses.get(refusal.reason, 410),
    )


@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The page a signed link opens: join (signed in), log in first (an account with the
    address exists), or create the account (none does)."""
    user = request.user if request.user.is_authenticated else None
    try:
        opened = services.open_link(token, user=user)
    except services.InvitationRefused as refusal:
        return _refused(request, refusal)
    invitation = opened.invitation
    form = SignUpForm(request.POST or None) if user is None and not opened.existing_user else None
    if request.method == "POST":
        joined = False
        try:
            if user is not None:
                services.accept(token=token, user=user)
                joined = True
            elif form is not None and form.is_valid():
                user = services.accept_as_new_user(
                    token=token,
                    username=form.cleaned_data["username"],
                    password=form.cleaned_data["password"],
                )
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                joined = True
        except services.InvitationRefused as refusal:
            return _refused(request, refusal)
        except ValidationError as exc:
            apply_form_errors(form, exc)
        if joined:
            services.choose_organization(user=user, organization=invitation.organization)
            messages.success(
                request,
                gettext("Welcome to %(organization)s: you joined as %(role)s.")
                % {
                    "organization": invitation.organization.name,
                    "role": invitation.get_role_display().lower(),
                },
            )
            return redirect("dashboard")
    login_url = f"{reverse('login')}?next={request.path}"
    return render(
        request,
        "people/invitation_accept.html",
        {
            "invitation": invitation,
            "form": form,
            "existing_user": opened.existing_user,
            "login_url": login_url,
        },
        status=400 if form is not None and form.errors else 200,
    )


# --------------------------------------------------------------------------- members


def _administered_org(request: HttpRequest, slug: str) -> Organization:
    return get_object_or_404(selectors.administered(request.user), slug=slug)


@login_required
def member_list(request: HttpRequest, slug: str) -> HttpResponse:
    """An organisation's members, for its admins: change a role, remove a member."""
    organization = _administered_org(request, slug)
    return render(
        request,
        "people/member_list.html",
        {
            "organization": organization,
            "members": selectors.members_of(organization),
            "roles": Membership.Role.choices,
        },
    )


@login_required
@require_POST
def member_change(request: HttpRequest, slug: str, member_pk: int) -> HttpResponse:
    organization = _administered_org(request, slug)
    membership = get_object_or_404(selectors.members_of(organization), pk=member_pk)
    if request.POST.get("remove"):
        try:
            services.leave_organization(membership=membership, user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                gettext("%(username)s no longer belongs to %(organization)s.")
                % {"username": membership.user.get_username(), "organization": organization.name},
            )
    else:
        form = MemberRoleForm(request.POST)
        if form.is_valid():
            try:
                services.change_role(
                    membership=membership, role=form.cleaned_data["role"], user=request.user
                )
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(
                    request,
                    gettext("%(username)s is now %(role)s.")
                    % {
                        "username": membership.user.get_username(),
                        "role": membership.get_role_display().lower(),
                    },
                )
        else:
            messages.error(request, gettext("Choose admin, editor or viewer."))
    return redirect("member-list", slug=organization.slug)


# --------------------------------------------------------------------------- the person


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


@login_required
@require_POST
def organization_switch(request: HttpRequest) -> HttpResponse:
    """Act for another of one's organisations; back to the page one was on."""
    try:
        organization = services.choose_organization(
            user=request.user, organization=int(request.POST.get("organization") or 0)
        )
    except (Organization.DoesNotExist, ValueError):
        messages.error(request, gettext("You do not belong to that organisation."))
        return HttpResponseRedirect(_safe_next(request, reverse("dashboard")))
    remember_viewer_timezone(request, organization)
    messages.success(
        request,
        gettext("You are acting for %(organization)s.") % {"organization": organization.name},
    )
    return HttpResponseRedirect(_safe_next(request, reverse("dashboard")))


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    """What the user hears of, per topic and channel."""
    form = PreferencesForm(request.POST or None, current=selectors.preferences_of(request.user))
    if request.method == "POST" and form.is_valid():
        services.set_preferences(user=request.user, choices=form.choices())
        messages.success(request, gettext("Your notification choices are saved."))
        return redirect("notification-preferences")
    return render(request, "people/preferences.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def reading_preferences(request: HttpRequest) -> HttpResponse:
    """The person's language and time zone; saved choices apply from the next page on."""
    user = request.user
    organization = selectors.acting_organization(user)
    profile = profile_of(user)
    form = ReadingChoicesForm(
        request.POST or None,
        initial={
            "language": profile.language if profile else "",
            "timezone": profile.timezone if profile else "",
        },
        organization_zone=organization.timezone if organization else "UTC",
        profile=profile,
    )
    if request.method == "POST":
        if form.is_valid():
            language = form.cleaned_data["language"]
            set_reading_choices(
                user=user, language=language, timezone=form.cleaned_data["timezone"]
            )
            remember_viewer_timezone(request, organization, user)
            remember_language(request, user)
            translation.activate(language or translation.get_language_from_request(request))
            messages.success(request, gettext("Your language and time zone are saved."))
            response = redirect("account-preferences")
            # The language cookie follows the choice, so that a page served before the
            # profile is read (or after logging out) speaks it too; "as my browser asks"
            # forgets it.
            if language:
                response.set_cookie(
                    settings.LANGUAGE_COOKIE_NAME,
                    language,
                    max_age=settings.LANGUAGE_COOKIE_AGE,
                    samesite=settings.LANGUAGE_COOKIE_SAMESITE,
                    secure=settings.LANGUAGE_COOKIE_SECURE,
                    httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                )
            else:
                response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
            return response
        status_code = 400
    else:
        status_code = 200
    return render(
        request,
        "people/account_preferences.html",
        {"form": form, "zones": sorted(_timezones())},
        status=status_code,
    )


@login_required
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    """The user's API tokens: when each was made, and a button to revoke it."""
    if request.method == "POST":
        try:
            services.revoke_token(user=request.user, prefix=request.POST.get("token") or "")
        except (Token.DoesNotExist, Token.MultipleObjectsReturned):
            messages.error(request, gettext("No such token."))
        else:
            messages.success(
                request, gettext("Token revoked: programs using it are refused from now on.")
            )

        return redirect("token-list")
    return render(request, "people/token_list.html", {"tokens": selectors.tokens_of(request.user)})
