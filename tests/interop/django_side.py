"""The real Django + simplejwt side of the interop tests (tests/interop/interop.test.mjs).

A standalone Django configured like the DRF stack edge-auth replaces (CONTRACT.md): simplejwt with
HS256, `user_id` claims, 30-minute access and 7-day rotating, blacklisted refresh tokens, and
Django's password hashers. Every subcommand prints one JSON value on stdout:

    hash <password> <iterations>       {"encoded"}: make_password with PBKDF2PasswordHasher at that cost
    hash-with <algorithm> <password>   {"encoded"}: make_password with that hasher ("unusable": make_password(None);
                                       "argon2i": argon2-cffi's argon2i, as Django before 3.2 wrote it)
    check <password> <encoded>         {"valid", "must_update"}: check_password / hasher.must_update
    mint <user_id>                     {"refresh", "access"}: RefreshToken.for_user and .access_token, as
                                       simplejwt's TokenObtainPairSerializer mints them
    validate <access> <refresh>        {"access", "refresh", "authenticated_user_id"}: AccessToken(access),
                                       RefreshToken(refresh) and JWTAuthentication; each a payload or
                                       {"error": message}
    refresh <refresh>                  {"status", "body"}: simplejwt's TokenRefreshView answering {"refresh": <refresh>}
    mirror <row>                       Django's copy of a worker users row (JSON: id, email, password, last_login,
                                       is_active, first_name, last_name, email_verified), created or replaced
    reset-token <row>                  {"uid", "token"}: urlsafe_base64_encode(pk) and Django's
                                       default_token_generator.make_token for that (mirrored) row
    check-reset-token <row> <uid> <token>
                                       {"uid", "token"}: whether the uid decodes to that row's id, and
                                       default_token_generator.check_token(user, token)
    verification-key <row>             {"key"}: allauth's confirmation key for that (mirrored, unverified) row's
                                       address (INTEROP_ALLAUTH=1)
    rest-auth <method> <path> [<json>] {"status", "body", "allow", "mails"}: dj-rest-auth's views answering
                                       that request in process (INTEROP_ALLAUTH=1: with django-allauth and
                                       dj_rest_auth.registration); its Allow header; the mails Django sent
    password-is <user_id> <password>   {"valid"}: check_password on Django's copy of that user (within a batch)
    deactivate <user_id>               marks that user inactive (within one `batch`: the database is in memory)
    dump                               a `manage.py dumpdata`-style JSON list of the fixture users
                                       (tests/fixtures/django-dumpdata.json)
    batch                              reads a JSON list of argument lists on stdin, prints the list of results

The signing key is read from INTEROP_SIGNING_KEY (the test passes the worker's key), Django's
SECRET_KEY from INTEROP_DJANGO_SECRET_KEY (the worker's DJANGO_SECRET_KEY, for reset tokens). The database is
an in-memory SQLite, migrated on demand; users the commands need are created there and forgotten.
"""

import json
import os
import sys
from datetime import datetime, timedelta, timezone

import django
from django.conf import settings

# The stack the `rest-auth` command asks: dj-rest-auth on plain Django (its password reset uses
# Django's PasswordResetForm, default_token_generator and urlsafe_base64 uids: the ones issue 12 pins),
# or, with INTEROP_ALLAUTH=1, dj-rest-auth with django-allauth (needed for registration/verify-email/
# and registration/resend-email/; with allauth installed, dj-rest-auth's reset switches to allauth's
# base-36 uids and its email-aware token generator, which issue 12 does not adopt).
ALLAUTH = os.environ.get("INTEROP_ALLAUTH") == "1"

settings.configure(
    # The reset-token commands share the worker's DJANGO_SECRET_KEY (the test passes it).
    SECRET_KEY=os.environ.get("INTEROP_DJANGO_SECRET_KEY") or "interop-tests-only",
    DEBUG=False,
    USE_TZ=True,
    TIME_ZONE="UTC",
    ALLOWED_HOSTS=["testserver"],
    ROOT_URLCONF=__name__,
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    INSTALLED_APPS=[
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "django.contrib.sites",
        "rest_framework",
        "rest_framework_simplejwt",
        "rest_framework_simplejwt.token_blacklist",
        "dj_rest_auth",
        *(["allauth", "allauth.account", "allauth.socialaccount", "dj_rest_auth.registration"] if ALLAUTH else []),
    ],
    SITE_ID=1,
    MIDDLEWARE=[
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        *(["allauth.account.middleware.AccountMiddleware"] if ALLAUTH else []),
    ],
    SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies",
    # The password reset mail of Django's PasswordResetForm (its own templates live in the admin app).
    TEMPLATES=[
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "APP_DIRS": False,
            "OPTIONS": {
                "loaders": [
                    (
                        "django.template.loaders.locmem.Loader",
                        {
                            "registration/password_reset_subject.txt": "Reset your password",
                            "registration/password_reset_email.html":
                                "http://localhost:3000/reset-password/{{ uid }}/{{ token }}/\n",
                        },
                    ),
                    "django.template.loaders.app_directories.Loader",
                ],
                "context_processors": ["django.template.context_processors.request"],
            },
        }
    ],
    EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    DEFAULT_FROM_EMAIL="no-reply@example.com",
    # Django's four default validators, as startproject writes them (CONTRACT.md "Password rules").
    AUTH_PASSWORD_VALIDATORS=[
        {"NAME": f"django.contrib.auth.password_validation.{name}"}
        for name in [
            "UserAttributeSimilarityValidator",
            "MinimumLengthValidator",
            "CommonPasswordValidator",
            "NumericPasswordValidator",
        ]
    ],
    # Django 5.2's defaults, plus the legacy MD5 hasher so that `hash-with md5` can make one.
    PASSWORD_HASHERS=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
        "django.contrib.auth.hashers.BCryptPasswordHasher",
        "django.contrib.auth.hashers.ScryptPasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ],
    REST_FRAMEWORK={
        "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework_simplejwt.authentication.JWTAuthentication"],
    },
    # dj-rest-auth as a simplejwt project runs it: JWT, no DRF token model, no session login.
    REST_AUTH={"USE_JWT": True, "TOKEN_MODEL": None, "SESSION_LOGIN": False},
    # allauth as a dj-rest-auth email-only project configures it, verification mandatory.
    ACCOUNT_LOGIN_METHODS={"email"},
    ACCOUNT_SIGNUP_FIELDS=["email*", "password1*", "password2*"],
    ACCOUNT_EMAIL_VERIFICATION="mandatory",
    ACCOUNT_UNIQUE_EMAIL=True,
    SIMPLE_JWT={
        "SIGNING_KEY": os.environ.get("INTEROP_SIGNING_KEY", ""),
        "ALGORITHM": "HS256",
        "USER_ID_FIELD": "id",
        "USER_ID_CLAIM": "user_id",
        "ACCESS_TOKEN_LIFETIME": timedelta(minutes=30),
        "REFRESH_TOKEN_LIFETIME": timedelta(days=7),
        "ROTATE_REFRESH_TOKENS": True,
        "BLACKLIST_AFTER_ROTATION": True,
        "UPDATE_LAST_LOGIN": True,
    },
)
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.hashers import (  # noqa: E402
    PBKDF2PasswordHasher,
    check_password,
    get_hasher,
    identify_hasher,
    make_password,
)
from django.contrib.auth.tokens import default_token_generator  # noqa: E402
from django.core import mail, serializers  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.urls import include, path  # noqa: E402
from django.utils.encoding import force_bytes  # noqa: E402
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode  # noqa: E402
from rest_framework_simplejwt.authentication import JWTAuthentication  # noqa: E402
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError  # noqa: E402
from rest_framework.test import APIClient, APIRequestFactory  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken  # noqa: E402
from rest_framework_simplejwt.views import TokenRefreshView  # noqa: E402

User = get_user_model()
_migrated = False

# dj-rest-auth's URLs under both of the worker's prefixes (ROOT_URLCONF is this module).
urlpatterns = []
for _prefix in ["api/v1/drf/auth/", "api/v1/auth/"]:
    urlpatterns.append(path(_prefix, include("dj_rest_auth.urls")))
    if ALLAUTH:
        urlpatterns.append(path(f"{_prefix}registration/", include("dj_rest_auth.registration.urls")))


def database():
    global _migrated
    if not _migrated:
        call_command("migrate", verbosity=0, interactive=False)
        _migrated = True


def throwaway_user(user_id):
    """A user row with this id, so simplejwt's user lookups and OutstandingToken rows work."""
    database()
    user, _ = User.objects.get_or_create(
        id=int(user_id), defaults={"username": f"interop-{user_id}", "password": make_password(None)}
    )
    return user


def hash_(password, iterations):
    hasher = PBKDF2PasswordHasher()
    hasher.iterations = int(iterations)
    return {"encoded": make_password(password, hasher=hasher)}


def hash_with(algorithm, password):
    if algorithm == "unusable":
        return {"encoded": make_password(None)}
    if algorithm == "argon2i":
        import argon2

        hasher = get_hasher("argon2")
        raw = argon2.low_level.hash_secret(
            password.encode(), hasher.salt().encode(), time_cost=2, memory_cost=512, parallelism=2, hash_len=16,
            type=argon2.low_level.Type.I,
        )
        return {"encoded": "argon2" + raw.decode("ascii")}
    return {"encoded": make_password(password, hasher=algorithm)}


def check(password, encoded):
    valid = check_password(password, encoded)
    try:
        must_update = identify_hasher(encoded).must_update(encoded)
    except ValueError:
        must_update = None
    return {"valid": valid, "must_update": must_update}


def mint(user_id):
    # What TokenObtainPairSerializer.validate does after authenticating the user.
    refresh = RefreshToken.for_user(throwaway_user(user_id))
    return {"refresh": str(refresh), "access": str(refresh.access_token)}


def _payload_or_error(token_class, token):
    try:
        return dict(token_class(token).payload)
    except TokenError as e:
        return {"error": str(e.args[0])}


def plain(detail):
    """A DRF error detail (lazy strings, ErrorDetail) as plain JSON values."""
    return json.loads(json.dumps(detail, default=str))


def validate(access, refresh):
    database()
    result = {"access": _payload_or_error(AccessToken, access), "refresh": _payload_or_error(RefreshToken, refresh)}
    # What DRF's JWTAuthentication does with `Authorization: Bearer <access>`.
    auth = JWTAuthentication()
    try:
        validated = auth.get_validated_token(access.encode())
        throwaway_user(validated["user_id"])
        result["authenticated_user_id"] = auth.get_user(validated).id
    except (InvalidToken, TokenError, ValueError) as e:
        result["authenticated_user_id"] = None
        result["authentication_error"] = plain(e.detail) if hasattr(e, "detail") else str(e)
    return result


def refresh_(token):
    """POSTs `{"refresh": token}` to simplejwt's own TokenRefreshView, as DRF serves it."""
    database()
    try:
        user_id = RefreshToken(token).payload.get("user_id")
    except TokenError:
        user_id = None
    if user_id is not None:
        throwaway_user(user_id)
    request = APIRequestFactory().post("/token/refresh/", {"refresh": token}, format="json")
    response = TokenRefreshView.as_view()(request)
    return {"status": response.status_code, "body": plain(response.data)}


def deactivate(user_id):
    """Marks the throwaway user inactive (for `refresh` of an inactive account's token)."""
    User.objects.filter(id=throwaway_user(user_id).id).update(is_active=False)
    return {"deactivated": int(user_id)}


def _datetime(stamp):
    """A worker timestamp ("2026-12-02T10:00:00.123456Z") as Django's aware datetime."""
    return None if stamp is None else datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def mirror(row):
    """Django's copy of a row of the worker's users table (a JSON object: id, email, password,
    last_login, is_active, first_name, last_name, email_verified), created or overwritten, with
    every field default_token_generator and the password validators read. Returns the user."""
    database()
    row = json.loads(row) if isinstance(row, str) else row
    user, _ = User.objects.update_or_create(
        id=int(row["id"]),
        defaults=dict(
            username=f"interop-{row['id']}",
            email=row["email"],
            password=row["password"],
            last_login=_datetime(row.get("last_login")),
            is_active=bool(row.get("is_active", 1)),
            first_name=row.get("first_name") or "",
            last_name=row.get("last_name") or "",
        ),
    )
    if ALLAUTH:
        from allauth.account.models import EmailAddress

        EmailAddress.objects.filter(user=user).delete()
        EmailAddress.objects.create(
            user=user, email=row["email"], primary=True, verified=bool(row.get("email_verified", 0))
        )
    return user


def mirror_(row):
    return {"mirrored": mirror(row).id}


def reset_token(row):
    """What Django's PasswordResetForm puts in the link for this user: urlsafe_base64 uid and a
    default_token_generator token (keyed by SECRET_KEY = INTEROP_DJANGO_SECRET_KEY)."""
    user = mirror(row)
    return {"uid": urlsafe_base64_encode(force_bytes(user.pk)), "token": default_token_generator.make_token(user)}


def check_reset_token(row, uid, token):
    """What Django's PasswordResetConfirmView checks: the uid names this user, and the token is valid for it."""
    user = mirror(row)
    try:
        uid_ok = urlsafe_base64_decode(uid).decode() == str(user.pk)
    except (TypeError, ValueError, UnicodeDecodeError):
        uid_ok = False
    return {"uid": uid_ok, "token": default_token_generator.check_token(user, token)}


def verification_key(row):
    """The key of the mail allauth sends to confirm this (mirrored, unverified) row's address
    (INTEROP_ALLAUTH=1): what a client posts to registration/verify-email/."""
    from allauth.account.models import EmailAddress, EmailConfirmationHMAC

    user = mirror(row)
    return {"key": EmailConfirmationHMAC(EmailAddress.objects.get(user=user, email=user.email)).key}


def rest_auth(method, url, body=None):
    """Sends one request to dj-rest-auth's own views, in process, as the worker would get it (JSON
    body as given, verbatim). Returns {"status", "body", "allow", "mails"}: the mails Django sent meanwhile."""
    database()
    mail.outbox = []
    response = APIClient().generic(method.upper(), url, body or "", content_type="application/json")
    try:
        parsed = json.loads(response.content) if response.content else None
    except ValueError:
        parsed = response.content.decode("utf8", "replace")
    mails = [{"to": m.to, "subject": m.subject, "body": m.body} for m in mail.outbox]
    return {"status": response.status_code, "body": parsed, "allow": response.get("Allow"), "mails": mails}


def password_is(user_id, password):
    """{"valid"}: whether Django's copy of that user now has this password (after a `rest-auth` reset)."""
    return {"valid": User.objects.get(id=int(user_id)).check_password(password)}


# The users of tests/fixtures/django-dumpdata.json. interop.test.mjs logs in with these passwords.
FIXTURE_USERS = [
    # Django 5.2's default cost (1,000,000 iterations), a staff superuser with a mixed-case email.
    dict(pk=1, email="Ada.Lovelace@Example.com", password="analytical-engine-1843", iterations=None,
         first_name="Ada", last_name="Lovelace", is_staff=True, is_superuser=True,
         last_login=datetime(2025, 3, 1, 9, 30, 15, 123456, tzinfo=timezone.utc),
         date_joined=datetime(2024, 1, 1, 12, 0, 0, tzinfo=timezone.utc),
         profile=dict(uuid="5f0c6a8e-3b1d-4c2a-9e7f-0a1b2c3d4e5f", phone_number="+44 20 7946 0958",
                      phone_number_verified=True, timezone="Europe/London", is_practitioner=False,
                      account_status="active")),
    # Django 5.0's default cost (720,000); a quote in the name.
    dict(pk=2, email="conan.obrien@example.com", password="late-night-with-conan", iterations=720000,
         first_name="Conan", last_name="O'Brien",
         last_login=None, date_joined=datetime(2024, 2, 29, 23, 59, 59, 999000, tzinfo=timezone.utc),
         profile=dict(uuid="8d2e4f6a-1b3c-4d5e-8f7a-9b0c1d2e3f4a", phone_number=None,
                      phone_number_verified=False, timezone="America/New_York", is_practitioner=True,
                      account_status="active")),
    # Unicode names and password, a gap in the ids.
    dict(pk=5, email="jose.nunez@example.com", password="contraseña-ñandú-日本", iterations=1000,
         first_name="José", last_name="Núñez-Žižek 日本",
         last_login=datetime(2024, 6, 15, 8, 45, 30, 500000, tzinfo=timezone.utc),
         date_joined=datetime(2024, 6, 15, 8, 0, 0, tzinfo=timezone.utc),
         profile=dict(uuid="c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f", phone_number="",
                      phone_number_verified=False, timezone="Asia/Tokyo", is_practitioner=False,
                      account_status="active")),
    # Inactive: imported, but cannot log in.
    dict(pk=7, email="former.member@example.com", password="gone-but-not-forgotten", iterations=1000,
         first_name="Former", last_name="Member", is_active=False,
         last_login=None, date_joined=datetime(2023, 12, 31, 0, 0, 0, tzinfo=timezone.utc),
         profile=dict(uuid="0e1f2a3b-4c5d-4e6f-a7b8-c9d0e1f2a3b4", phone_number=None,
                      phone_number_verified=False, timezone="UTC", is_practitioner=False,
                      account_status="active")),
    # Suspended: imported, but cannot log in.
    dict(pk=8, email="suspended@example.com", password="please-let-me-back-in", iterations=1000,
         first_name="", last_name="",
         last_login=None, date_joined=datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
         profile=dict(uuid="1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", phone_number=None,
                      phone_number_verified=False, timezone="UTC", is_practitioner=False,
                      account_status="suspended")),
]


def dump():
    database()
    for spec in FIXTURE_USERS:
        hasher = PBKDF2PasswordHasher()
        if spec["iterations"] is not None:
            hasher.iterations = spec["iterations"]
        User.objects.create(
            id=spec["pk"],
            username=spec["email"].split("@")[0],
            email=spec["email"],
            password=make_password(spec["password"], hasher=hasher),
            first_name=spec["first_name"],
            last_name=spec["last_name"],
            is_active=spec.get("is_active", True),
            is_staff=spec.get("is_staff", False),
            is_superuser=spec.get("is_superuser", False),
            last_login=spec["last_login"],
            date_joined=spec["date_joined"],
        )
    # Exactly what `manage.py dumpdata auth.User` writes, then the profile fields of the
    # project's own user model added to each record.
    records = json.loads(serializers.serialize("json", User.objects.order_by("pk")))
    for record, spec in zip(records, FIXTURE_USERS):
        record["fields"].update(spec["profile"])
    return records


COMMANDS = {
    "hash": hash_,
    "hash-with": hash_with,
    "check": check,
    "mint": mint,
    "validate": validate,
    "refresh": refresh_,
    "deactivate": deactivate,
    "dump": dump,
    "mirror": mirror_,
    "reset-token": reset_token,
    "check-reset-token": check_reset_token,
    "verification-key": verification_key,
    "rest-auth": rest_auth,
    "password-is": password_is,
}


def run(argv):
    if not argv or argv[0] not in COMMANDS:
        raise SystemExit(f"usage: django_side.py {{{'|'.join([*COMMANDS, 'batch'])}}} ARGS…")
    return COMMANDS[argv[0]](*argv[1:])


def main():
    if sys.argv[1:] == ["batch"]:
        result = [run(argv) for argv in json.load(sys.stdin)]
    else:
        result = run(sys.argv[1:])
    sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=2 if sys.argv[1:] == ["dump"] else None) + "\n")


if __name__ == "__main__":
    main()
