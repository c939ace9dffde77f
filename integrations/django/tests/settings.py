"""The companion's test project. EDGE_AUTH_TEST_USER_MODEL picks the user model: `users.User`
(drf-auth-api.md's profile, email as USERNAME_FIELD; the default) or `auth.User` (Django's own,
with a username), so the app is shown to need nothing beyond AbstractBaseUser."""

import os
import tempfile
from datetime import timedelta

SECRET_KEY = "companion-tests-only"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
ROOT_URLCONF = "tests.urls"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": ":memory:",
        # A file, not shared-cache memory, so that the delivery thread and the test wait on each
        # other's locks instead of failing with "table is locked".
        "TEST": {"NAME": os.path.join(tempfile.gettempdir(), f"edge-auth-django-tests-{os.getpid()}.sqlite3")},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "edge_auth_django",
    "tests.users",
]
AUTH_USER_MODEL = os.environ.get("EDGE_AUTH_TEST_USER_MODEL", "users.User")
MIDDLEWARE = []
# Fast hashers first; PBKDF2 stays available so that a stored PBKDF2 hash is re-hashed on login.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["edge_auth_django.authentication.EdgeAuthJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}
SIMPLE_JWT = {
    "SIGNING_KEY": "companion-tests-signing-key-0123456789abcdef",
    "ALGORITHM": "HS256",
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=30),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=7),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
}
EDGE_AUTH_URL = "http://127.0.0.1:9/api/v1/auth/"  # nothing listens: tests that deliver start a stub
EDGE_AUTH_SHARED_SECRET = "companion-tests-shared-secret-0123456789"
EDGE_AUTH_TIMEOUT = 2
# Tests flush explicitly; the daemon thread is tested on its own.
EDGE_AUTH_DELIVER_ON_COMMIT = False
# The companion's log is silent unless EDGE_AUTH_TEST_LOG=1.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}, "console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "edge_auth_django": {
            "handlers": ["console" if os.environ.get("EDGE_AUTH_TEST_LOG") == "1" else "null"],
            "propagate": False,
        }
    },
}
