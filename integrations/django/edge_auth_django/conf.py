"""The companion's settings, read when asked (so that override_settings works) and checked at
startup: a deployment with a short secret or no worker URL refuses to start rather than running
with sync silently broken."""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

MIN_SECRET_LENGTH = 32


@dataclass(frozen=True)
class Config:
    url: str
    secret: str
    timeout: float
    user_id_start: int
    deliver_on_commit: bool

    def __repr__(self):  # the secret never reaches a log or a traceback through repr()
        return f"Config(url={self.url!r}, timeout={self.timeout!r}, user_id_start={self.user_id_start!r})"

    @property
    def events_url(self):
        return f"{self.url}sync/events/"


def get_config():
    """The validated settings; ImproperlyConfigured names the first one that is wrong."""
    url = getattr(settings, "EDGE_AUTH_URL", None)
    if not isinstance(url, str) or not url:
        raise ImproperlyConfigured("EDGE_AUTH_URL must be set to the worker's base URL with its prefix.")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or not url.endswith("/"):
        raise ImproperlyConfigured(
            "EDGE_AUTH_URL must be an http(s) URL ending in a slash, e.g. https://auth.example.com/api/v1/auth/."
        )
    secret = getattr(settings, "EDGE_AUTH_SHARED_SECRET", None)
    if not isinstance(secret, str) or len(secret) < MIN_SECRET_LENGTH:
        raise ImproperlyConfigured(
            f"EDGE_AUTH_SHARED_SECRET must be a string of at least {MIN_SECRET_LENGTH} characters "
            "(the worker's DJANGO_SYNC_SECRET)."
        )
    timeout = getattr(settings, "EDGE_AUTH_TIMEOUT", 5)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ImproperlyConfigured("EDGE_AUTH_TIMEOUT must be a positive number of seconds.")
    start = getattr(settings, "EDGE_AUTH_USER_ID_START", 1_000_000_000)
    if isinstance(start, bool) or not isinstance(start, int) or start <= 0:
        raise ImproperlyConfigured("EDGE_AUTH_USER_ID_START must be a positive integer.")
    deliver = getattr(settings, "EDGE_AUTH_DELIVER_ON_COMMIT", True)
    return Config(url=url, secret=secret, timeout=float(timeout), user_id_start=start, deliver_on_commit=bool(deliver))


def check_installed_apps():
    if "rest_framework_simplejwt.token_blacklist" not in settings.INSTALLED_APPS:
        raise ImproperlyConfigured(
            "edge_auth_django needs 'rest_framework_simplejwt.token_blacklist' in INSTALLED_APPS."
        )
