"""The spec's views under /api/v1/drf/auth/ (drf-auth-api.md), answering as CONTRACT.md pins them.
Tokens are simplejwt's throughout, so that rotation, the blacklist and the companion's signals on
them behave exactly as in any simplejwt project."""

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import update_last_login
from django.utils.module_loading import import_string
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import RefreshToken

from .serializers import (
    LogoutSerializer,
    PasswordChangeSerializer,
    TokenRefreshRequestSerializer,
    UserLoginSerializer,
    UserProfileSerializer,
    UserRegistrationSerializer,
)

EXPIRES_IN = int(settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds())


def token_body(access, refresh):
    return {"access_token": str(access), "refresh_token": str(refresh), "token_type": "bearer", "expires_in": EXPIRES_IN}


def tokens_for(user):
    refresh = RefreshToken.for_user(user)
    return {**token_body(refresh.access_token, refresh), "user": UserProfileSerializer(user).data}


class PublicView(APIView):
    """No authentication, no permission; a refused token is still a 401 with the Bearer challenge, as
    simplejwt's own token views answer (DRF turns a 401 of a view without authenticators into a 403)."""

    permission_classes = [AllowAny]
    authentication_classes = []

    def get_authenticate_header(self, request):
        return 'Bearer realm="api"'


class RegisterView(PublicView):
    def post(self, request):
        serializer = UserRegistrationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = serializer.save()
        return Response(tokens_for(user), status=status.HTTP_201_CREATED)


class LoginView(PublicView):
    def post(self, request):
        serializer = UserLoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # ModelBackend refuses inactive users: the same answer as a wrong password.
        user = authenticate(request, email=serializer.validated_data["email"].lower(),
                            password=serializer.validated_data["password"])
        if user is None:
            return Response({"detail": "Invalid email or password."}, status=status.HTTP_401_UNAUTHORIZED)
        update_last_login(None, user)
        return Response(tokens_for(user))


class TokenRefreshView(PublicView):
    """simplejwt's refresh serializer underneath (SIMPLE_JWT's TOKEN_REFRESH_SERIALIZER, as its own
    TokenRefreshView takes it: rotation, BLACKLIST_AFTER_ROTATION), the spec's field names around it."""

    def post(self, request):
        serializer = TokenRefreshRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        serializer_class = import_string(api_settings.TOKEN_REFRESH_SERIALIZER)
        refresh = serializer_class(data={"refresh": serializer.validated_data["refresh_token"]})
        try:
            refresh.is_valid(raise_exception=True)
        except TokenError as error:
            raise InvalidToken(error.args[0])
        return Response(token_body(refresh.validated_data["access"], refresh.validated_data["refresh"]))


class LogoutView(APIView):
    permission_classes = [IsAuthenticated]

    def post(self, request):
        serializer = LogoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            token = RefreshToken(serializer.validated_data["refresh_token"])
        except TokenError as error:
            return Response({"detail": error.args[0], "code": "token_not_valid"}, status=status.HTTP_400_BAD_REQUEST)
        if str(token.payload.get(api_settings.USER_ID_CLAIM)) != str(request.user.pk):
            return Response(
                {"detail": "Token does not belong to the authenticated user.", "code": "token_not_valid"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        token.blacklist()
        return Response({"message": "Successfully logged out."})


class CurrentUserView(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response(UserProfileSerializer(request.user).data)

    def patch(self, request):
        serializer = UserProfileSerializer(request.user, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(serializer.data)


class ChangePasswordView(APIView):
    permission_classes = [IsAuthenticated]

    def post(self, request):
        serializer = PasswordChangeSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        request.user.set_password(serializer.validated_data["new_password"])
        request.user.save()
        return Response({"message": "Password changed successfully."})
