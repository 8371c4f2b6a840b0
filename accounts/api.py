"""Account endpoints of the API: obtain and revoke a token, who am I."""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import lockout
from nstsite.auth import api_user
from nstsite.rest import ScopedThrottle, StrictCharField


class TokenThrottle(ScopedThrottle):
    scope = "token"


class LoginSerializer(serializers.Serializer):
    username = StrictCharField()
    password = StrictCharField(style={"input_type": "password"}, trim_whitespace=False, write_only=True)


class TokenView(APIView):
    """Obtain (POST) or revoke (DELETE) the API token of the calling user."""

    throttle_scope = "token"

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "POST" else super().get_permissions()

    def get_throttles(self):
        # Stricter than the default rates: this endpoint is where passwords get guessed.
        return [TokenThrottle()] if self.request.method == "POST" else super().get_throttles()

    @extend_schema(
        request=LoginSerializer,
        responses={
            200: inline_serializer("TokenResponse", {"token": StrictCharField()}),
            400: OpenApiResponse(description="Wrong username or password"),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        username = serializer.validated_data["username"]
        try:
            lockout.check(request, username)
        except lockout.LockedOut as exc:
            raise Throttled(wait=exc.seconds, detail=str(exc)) from None
        user = authenticate(request, **serializer.validated_data)
        if user is None:
            lockout.failed(request, username)
            raise serializers.ValidationError("Unable to log in with the username and password given.")
        lockout.succeeded(request, username)
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request) -> Response:
        Token.objects.filter(user=api_user(request)).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = StrictCharField()
    email = serializers.EmailField()
    is_staff = serializers.BooleanField()


class AccountDeleteSerializer(serializers.Serializer):
    password = StrictCharField(style={"input_type": "password"}, trim_whitespace=False, write_only=True)


class MeView(APIView):
    """The calling user (GET), or erase the account and everything in it (DELETE, with the password)."""

    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)

    @extend_schema(
        request=AccountDeleteSerializer, responses={204: None, 400: OpenApiResponse(description="Wrong password")}
    )
    def delete(self, request: Request) -> Response:
        from accounts.services import account_delete

        data = AccountDeleteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # A wrong password (Django's ValidationError) becomes a 400 in nstsite.rest's handler.
        account_delete(user=api_user(request), password=data.validated_data["password"])
        return Response(status=status.HTTP_204_NO_CONTENT)
