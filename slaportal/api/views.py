"""API entry points that belong to no app: the root and the token exchange."""

from collections.abc import Mapping

from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth import get_user_model
from django.urls import NoReverseMatch
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.decorators import api_view, permission_classes, throttle_classes
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse


class TokenRequestSerializer(AuthTokenSerializer):
    # Bounded like the user's column: a longer name cannot log in, and axes would fail to
    # record the attempt in its own column of 255 characters.
    username = serializers.CharField(
        label="Username",
        write_only=True,
        max_length=get_user_model()._meta.get_field("username").max_length,
    )


@extend_schema(
    request=TokenRequestSerializer,
    responses={
        200: inline_serializer("AuthToken", {"token": serializers.CharField()}),
        400: inline_serializer(
            "TokenError",
            {
                name: serializers.ListField(child=serializers.CharField(), required=False)
                for name in ("non_field_errors", "username", "password")
            },
        ),
        429: inline_serializer("Locked", {"detail": serializers.CharField()}),
    },
)
@api_view(["POST"])
@permission_classes([AllowAny])
@throttle_classes([])
def obtain_token(request: Request) -> Response:
    """Exchange a username and password for the token to send as `Authorization: Token …`."""
    # Axes watches Django's login signals, but a DRF request hides the lockout flag from
    # its middleware, so the lockout is checked here against the underlying request.
    data = request.data
    username = data.get("username", "") if isinstance(data, Mapping) else ""
    # PostgreSQL text holds no NUL character: axes could not look such a name up, and the
    # serializer refuses it as a field error below.
    readable = isinstance(username, str) and "\x00" not in username
    credentials = {"username": username if readable else ""}
    if AxesProxyHandler.is_locked(request._request, credentials):
        return Response(
            {"detail": "Too many failed logins for this account; try again later."},
            status=status.HTTP_429_TOO_MANY_REQUESTS,
        )
    serializer = TokenRequestSerializer(data=data, context={"request": request._request})
    serializer.is_valid(raise_exception=True)
    token, _ = Token.objects.get_or_create(user=serializer.validated_data["user"])
    return Response({"token": token.key})


@extend_schema(exclude=True)
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def api_root(request: Request) -> Response:
    names = [
        "organization",
        "membership",
        "service",
        "contract",
        "contractservice",
        "servicelevel",
        "responsibility",
        "responsibilitylapse",
        "maintenancewindow",
        "incident",
        "measurement",
        "statement",
        "dispute",
        "notification",
    ]
    links = {}
    for name in names:
        try:
            links[name] = reverse(f"api:{name}-list", request=request)
        except NoReverseMatch:
            continue
    user = request.user
    return Response({"user": user.get_username(), "is_staff": user.is_staff, "resources": links})
