"""simplejwt's refresh, plus the revocations edge-auth made that simplejwt has no row for.

The worker reports every refresh token it kills, and the companion blacklists the outstanding
tokens of a session or cut-off it learns of; but simplejwt before 5.5 does not record the tokens its
refresh view rotates in, so a successor minted here is unknown to both. With this serializer
(`SIMPLE_JWT["TOKEN_REFRESH_SERIALIZER"]`) the refresh view also refuses a refresh token of an ended
session or issued before the user's cut-off, whichever simplejwt runs."""

from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer

from .authentication import is_revoked


class EdgeAuthTokenRefreshSerializer(TokenRefreshSerializer):
    def validate(self, attrs):
        if is_revoked(self.token_class(attrs["refresh"]).payload):
            raise TokenError(_("Token is blacklisted"))  # simplejwt's refresh view answers it as its own
        return super().validate(attrs)
