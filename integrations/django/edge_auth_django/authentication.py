"""simplejwt's authentication, plus the revocations edge-auth made: an access token of a session the
worker ended, or issued before the user's cut-off (logout-all, password change), is refused."""

from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings

from .models import RevokedSession, SessionCutoff
from .records import to_unix
from .tokens import dies_at_cutoff, sid_of


class EdgeAuthJWTAuthentication(JWTAuthentication):
    def get_validated_token(self, raw_token):
        token = super().get_validated_token(raw_token)
        if is_revoked(token.payload):
            # simplejwt's own answer for a blacklisted token, so clients see one shape.
            raise InvalidToken(
                {
                    "detail": _("Given token not valid for any token type"),
                    "messages": [
                        {
                            "token_class": type(token).__name__,
                            "token_type": token.token_type,
                            "message": _("Token is blacklisted"),
                        }
                    ],
                }
            )
        return token


def is_revoked(payload):
    """Whether edge-auth ended this token's session, or the user's cut-off falls after its `iat`."""
    sid = sid_of(payload)
    if sid is not None and RevokedSession.objects.filter(sid=sid).exists():
        return True
    try:
        user_id = int(payload.get(api_settings.USER_ID_CLAIM))
    except (TypeError, ValueError):
        return False  # simplejwt refuses it when it looks the user up
    cutoff = SessionCutoff.objects.filter(user_id=user_id).first()
    if cutoff is None:
        return False
    iat = payload.get("iat")
    if not isinstance(iat, (int, float)) or isinstance(iat, bool):
        return True
    return dies_at_cutoff(iat, sid, to_unix(cutoff.before), cutoff.except_sid)
