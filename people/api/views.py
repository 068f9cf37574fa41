"""The people API: invitations (admins), one's notification choices and API tokens."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from contracts.models import Organization
from contracts.querysets import is_anonymous
from people import preferences, selectors, services
from people.api.filters import InvitationFilter
from people.api.serializers import (
    AcceptedInvitationSerializer,
    ApiTokenSerializer,
    InvitationAcceptSerializer,
    InvitationRequestSerializer,
    InvitationSerializer,
    PreferenceSerializer,
    ReadingChoicesSerializer,
)
from people.models import Invitation, NotificationPreference
from people.timezones import remember_viewer_timezone
from people.topics import TOPICS
from slaportal.api.errors import ErrorSerializer, api_errors
from slaportal.api.parsers import SafeJSONParser
from slaportal.api.schema import PortalAutoSchema
from slaportal.api.viewsets import ScopedGenericViewSet


def _as_api_errors(exc: DjangoValidationError) -> exceptions.ValidationError:
    return exceptions.ValidationError(api_errors(exc))


class InvitationViewSet(
    ScopedGenericViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin
):
    """Invitations the caller manages (as an admin of the organisation invited into, or
    of the provider that invited): pending, accepted, revoked and expired ones. The
    invitee gets an e-mail with a signed, single-use link that expires."""

    model = Invitation
    serializer_class = InvitationSerializer
    create_policy = "org_admin"
    list_select_related = ("organization", "created_by", "accepted_by")
    filterset_class = InvitationFilter

    @extend_schema(
        request=InvitationRequestSerializer,
        responses={201: InvitationSerializer},
        summary="Invite someone into an organisation, or a new customer's first admin.",
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = InvitationRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            if "customer_name" in data:
                invitation = services.invite_customer(
                    user=request.user,
                    provider=data["provider"],
                    name=data["customer_name"],
                    email=data["email"],
                )
            else:
                invitation = services.invite(
                    user=request.user,
                    organization=data["organization"],
                    email=data["email"],
                    role=data["role"],
                )
        except Organization.DoesNotExist:
            field = "provider" if "customer_name" in data else "organization"
            pk = data.get(field)
            raise exceptions.ValidationError(
                {field: [f'Invalid pk "{pk}" - object does not exist.']}
            ) from None
        except DjangoValidationError as exc:
            raise _as_api_errors(exc) from None
        return Response(self.get_serializer(invitation).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=InvitationAcceptSerializer,
        responses={
            200: AcceptedInvitationSerializer,
            201: AcceptedInvitationSerializer,
            404: ErrorSerializer,
        },
        summary="Accept an invitation: as the authenticated caller (the address must be "
        "theirs), or without authentication by creating the account (username, password).",
    )
    @action(
        detail=False,
        methods=["post"],
        permission_classes=[AllowAny],
        filter_backends=[],
        pagination_class=None,
    )
    def accept(self, request: Request) -> Response:
        """The link's checks, as in the browser: a link not valid is a 404; expired,
        revoked, already used, for another address (or for an address that has an account,
        without authentication) a 400 saying so. Nothing is changed then."""
        body = InvitationAcceptSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        signed_in = not is_anonymous(request.user)
        try:
            if signed_in:
                if "username" in data or "password" in data:
                    raise exceptions.ValidationError(
                        {
                            name: ["Authenticated, you accept as yourself: leave it out."]
                            for name in ("username", "password")
                            if name in data
                        }
                    )
                membership = services.accept(token=data["token"], user=request.user)
                created = False
            else:
                # What the link says comes first: a bad link, or an address with an account.
                opened = services.open_link(data["token"])
                if opened.existing_user:
                    raise services.InvitationRefused("has_account", opened.invitation)
                missing = {
                    name: ["Required to create the account (or authenticate to accept)."]
                    for name in ("username", "password")
                    if name not in data
                }
                if missing:
                    raise exceptions.ValidationError(missing)
                user = services.accept_as_new_user(
                    token=data["token"], username=data["username"], password=data["password"]
                )
                membership = user.memberships.select_related("organization").get()
                created = True
        except services.InvitationRefused as refusal:
            if refusal.reason == "invalid":
                # Said as such, not the generic "not found": the caller holds a link.
                return Response({"detail": refusal.message}, status=status.HTTP_404_NOT_FOUND)
            raise exceptions.ValidationError({"token": [refusal.message]}) from None
        except DjangoValidationError as exc:
            raise _as_api_errors(exc) from None
        return Response(
            AcceptedInvitationSerializer(membership).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(request=None, responses={200: InvitationSerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        """Revoke a pending invitation: its link then opens a page saying so."""
        invitation = self.get_object()
        try:
            invitation = services.revoke(user=request.user, invitation=invitation)
        except DjangoValidationError as exc:
            raise _as_api_errors(exc) from None
        return Response(self.get_serializer(invitation).data)

    @extend_schema(request=None, responses={200: InvitationSerializer})
    @action(detail=True, methods=["post"])
    def resend(self, request: Request, pk: str | None = None) -> Response:
        """Send a pending or expired invitation again, valid for the full time from now."""
        invitation = self.get_object()
        try:
            invitation = services.resend(user=request.user, invitation=invitation)
        except DjangoValidationError as exc:
            raise _as_api_errors(exc) from None
        return Response(self.get_serializer(invitation).data)


class PreferenceViewSet(viewsets.GenericViewSet):
    """The caller's notification choices: per topic, in the portal, e-mail at once, and
    the daily digest e-mail."""

    queryset = NotificationPreference.objects.none()  # the schema's model; reads are the user's
    # JSON only: a form-encoded body would read as an empty list, a change of nothing.
    parser_classes = [SafeJSONParser]

    permission_classes = [IsAuthenticated]
    serializer_class = PreferenceSerializer
    pagination_class = None
    schema = PortalAutoSchema()

    def _rows(self, request: Request) -> list[dict[str, Any]]:
        return [
            {"topic": topic, "label": TOPICS[topic], **channels}
            for topic, channels in selectors.preferences_of(request.user).items()
        ]

    @extend_schema(responses={200: PreferenceSerializer(many=True)})
    def list(self, request: Request) -> Response:
        return Response(PreferenceSerializer(self._rows(request), many=True).data)

    @extend_schema(
        request=PreferenceSerializer(many=True),
        responses={200: PreferenceSerializer(many=True)},
        summary="Change some topics' channels; those left out keep theirs.",
    )
    @action(detail=False, methods=["patch"], url_path="change")
    def change(self, request: Request) -> Response:
        body = PreferenceSerializer(data=request.data, many=True)
        body.is_valid(raise_exception=True)
        choices: dict[str, dict[str, bool]] = {}
        for item in body.validated_data:
            channels = {k: v for k, v in item.items() if k in ("in_app", "email", "digest")}
            choices.setdefault(item["topic"], {}).update(channels)
        try:
            services.set_preferences(user=request.user, choices=choices)
        except DjangoValidationError as exc:
            raise _as_api_errors(exc) from None
        return Response(PreferenceSerializer(self._rows(request), many=True).data)


class ReadingChoicesView(APIView):
    """The caller's language and time zone (the browser's preferences page, as JSON)."""

    parser_classes = [SafeJSONParser]
    permission_classes = [IsAuthenticated]
    serializer_class = ReadingChoicesSerializer
    schema = PortalAutoSchema()

    def _current(self, request: Request) -> dict[str, str]:
        profile = preferences.profile_of(request.user)
        return {
            "language": profile.language if profile else "",
            "timezone": profile.timezone if profile else "",
        }

    @extend_schema(responses={200: ReadingChoicesSerializer})
    def get(self, request: Request) -> Response:
        return Response(ReadingChoicesSerializer(self._current(request)).data)

    @extend_schema(
        request=ReadingChoicesSerializer,
        responses={200: ReadingChoicesSerializer},
        summary="Change the language, the time zone or both; a field left out keeps its value.",
    )
    def patch(self, request: Request) -> Response:
        body = ReadingChoicesSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        choices = {**self._current(request), **body.validated_data}
        preferences.set_reading_choices(
            user=request.user, language=choices["language"], timezone=choices["timezone"]
        )
        # A browser signed in by its session reads the new choices from its next page; a
        # program with a token gets no session.
        if isinstance(request.successful_authenticator, SessionAuthentication):
            remember_viewer_timezone(
                request._request, selectors.acting_organization(request.user), request.user
            )
            preferences.remember_language(request._request, request.user)
        return Response(ReadingChoicesSerializer(self._current(request)).data)


class TokenViewSet(viewsets.GenericViewSet):
    """The caller's own API tokens; revoking one ends its access at once."""

    queryset = Token.objects.none()  # the schema's model; reads are the user's own

    permission_classes = [IsAuthenticated]
    serializer_class = ApiTokenSerializer
    pagination_class = None
    lookup_value_regex = "[^/.]+"
    # The token's first characters, not its key (the model's primary key).
    lookup_field = lookup_url_kwarg = "id"
    schema = PortalAutoSchema()

    @extend_schema(responses={200: ApiTokenSerializer(many=True)})
    def list(self, request: Request) -> Response:
        rows = [
            {"id": token.key[:8], "created": token.created}
            for token in selectors.tokens_of(request.user)
        ]
        return Response(ApiTokenSerializer(rows, many=True).data)

    @extend_schema(
        responses={204: None},
        parameters=[
            OpenApiParameter(
                "id", str, OpenApiParameter.PATH, description="The token's first 8 characters."
            )
        ],
    )
    def destroy(self, request: Request, id: str | None = None) -> Response:
        try:
            services.revoke_token(user=request.user, prefix=id or "")
        except (Token.DoesNotExist, Token.MultipleObjectsReturned):
            raise exceptions.NotFound("No such token.") from None
        return Response(status=status.HTTP_204_NO_CONTENT)
