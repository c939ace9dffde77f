"""A Django project as the spec describes it (drf-auth-api.md, CONTRACT.md), with edge-auth's companion
app installed as its coexistence guide says: the users live in `accounts.User` (email as the login,
the spec's profile fields), DRF + simplejwt with the blacklist app, and `edge_auth_django` keeping
users and revocations in step with the worker.

Everything that differs per run comes from the environment (tests/coexist/coexist.test.mjs sets it):
  JWT_SIGNING_KEY           simplejwt's SIGNING_KEY (HS256), the worker's JWT_SIGNING_KEY
  DJANGO_SECRET_KEY         SECRET_KEY
  EDGE_AUTH_URL             the worker's base URL with a prefix, e.g. http://127.0.0.1:8787/api/v1/auth/
  EDGE_AUTH_SHARED_SECRET   the worker's DJANGO_SYNC_SECRET
  DJANGO_DB_PATH            the SQLite file
  PBKDF2_ITERATIONS         optional: the PBKDF2 cost of new hashes (Django's own default when unset;
                            the test sets the worker's, so that a login costs milliseconds on both sides)
"""

import os
from datetime import timedelta


def required(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} must be set (see site_config/settings.py)")
    return value


SECRET_KEY = required("DJANGO_SECRET_KEY")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = True

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "edge_auth_django",
    "accounts",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "site_config.urls"
WSGI_APPLICATION = "site_config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# One SQLite file shared by runserver's threads and the test's management commands: writers queue
# for the lock (timeout, IMMEDIATE transactions) instead of failing with "database is locked".
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": required("DJANGO_DB_PATH"),
        "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"},
    }
}

# Django's four default validators, as startproject writes them (CONTRACT.md "Password rules").
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in [
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    ]
]
if os.environ.get("PBKDF2_ITERATIONS"):
    PBKDF2_ITERATIONS = int(os.environ["PBKDF2_ITERATIONS"])
    PASSWORD_HASHERS = ["accounts.hashers.ConfiguredPBKDF2PasswordHasher"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["edge_auth_django.authentication.EdgeAuthJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
}

SIMPLE_JWT = {
    "ALGORITHM": "HS256",
    "SIGNING_KEY": required("JWT_SIGNING_KEY"),
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=30),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=7),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
}

EDGE_AUTH_URL = required("EDGE_AUTH_URL")
EDGE_AUTH_SHARED_SECRET = required("EDGE_AUTH_SHARED_SECRET")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO"},
}
