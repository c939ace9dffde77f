"""Applying the worker's events to Django (PROTOCOL.md, "Types", the Django column).

Everything here runs inside `applying()`, so that the signal handlers that feed the outbox stay
silent: applying an event sends nothing back."""

import contextlib
import contextvars
import logging
import re
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, router, transaction
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from . import ids
from .models import RevokedSession, SessionCutoff
from .records import concrete_fields, from_unix, to_unix
from .tokens import dies_at_cutoff, sid_of, unverified_payload

logger = logging.getLogger("edge_auth_django")

_applying = contextvars.ContextVar("edge_auth_applying", default=False)

EVENT_ID = re.compile(r"[0-9a-f]{32}")
LAST_SECOND = 253_402_300_799  # 9999-12-31T23:59:59Z, the last a datetime holds
REASONS = ("rotated", "logout", "revoked")


class EventRejected(Exception):
    """Not an event this side can apply: 400 with this detail, and the worker does not retry it."""

    def __init__(self, detail):
        super().__init__(detail)
        self.detail = detail


class RetryLater(Exception):
    """Cannot be applied yet (e.g. the user it names has not arrived): 503, the worker retries."""

    def __init__(self, detail):
        super().__init__(detail)
        self.detail = detail


@contextlib.contextmanager
def applying():
    token = _applying.set(True)
    try:
        yield
    finally:
        _applying.reset(token)


def is_applying():
    return _applying.get()


# --- reading an event ---------------------------------------------------------------------------


def parse_envelope(event):
    """Checks the envelope and returns (id, type, data)."""
    if not isinstance(event, dict):
        raise EventRejected("An event must be a JSON object.")
    event_id, event_type, data = event.get("id"), event.get("type"), event.get("data")
    if not isinstance(event_id, str) or not EVENT_ID.fullmatch(event_id):
        raise EventRejected("Invalid event id.")
    if event_type not in APPLIERS:
        raise EventRejected("Unknown event type.")
    if not isinstance(data, dict):
        raise EventRejected("Invalid event data.")
    if not _is_int(event.get("occurred_at")) or not isinstance(event.get("source"), str):
        raise EventRejected("Invalid event envelope.")
    return event_id, event_type, data


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _user_id(data, key="user_id"):
    value = data.get(key)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if not _is_int(value) or value <= 0:
        raise EventRejected(f"Invalid {key}.")
    return value


def _sid(data, key, required=False):
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value or len(value) > 255:
        raise EventRejected(f"Invalid {key}.")
    return value


def _unix(data, key):
    value = data.get(key)
    if not _is_int(value) or not 0 <= value <= LAST_SECOND:
        raise EventRejected(f"Invalid {key}.")
    return value


# --- users --------------------------------------------------------------------------------------


def _upsert_user(data):
    record = data.get("user")
    if not isinstance(record, dict):
        raise EventRejected("Invalid user.")
    user_id = _user_id(record, "id")
    email, password = record.get("email"), record.get("password")
    if not isinstance(email, str) or not email or not isinstance(password, str):
        raise EventRejected("Invalid user.")

    model = get_user_model()
    manager = model._base_manager
    email_field, username_field = model.get_email_field_name(), model.USERNAME_FIELD
    if manager.filter(**{f"{email_field}__iexact": email}).exclude(pk=user_id).exists():
        logger.warning("edge-auth user %s: email belongs to another user here; not applied", user_id)
        raise EventRejected("Email belongs to another user.")

    user = manager.select_for_update().filter(pk=user_id).first()
    creating = user is None
    if creating:
        user = model(pk=user_id)
        if username_field != email_field:
            setattr(user, username_field, email)
    setattr(user, email_field, email)
    user.password = password  # the encoded hash, as is
    fields = concrete_fields(model)
    for name, value in record.items():
        field = fields.get(name)
        if field is None or name in ("email", "password", email_field, username_field):
            continue
        try:
            value = field.to_python(value)
        except ValidationError:
            raise EventRejected(f"Invalid {name}.") from None
        if value is None and not field.null:
            continue  # keep this side's value (or the field's default)
        if value is not None and field.get_internal_type() == "DateTimeField" and not settings.USE_TZ:
            value = timezone.make_naive(value, timezone.get_default_timezone())
        setattr(user, field.attname, value)
    using = router.db_for_write(model)
    if creating:
        ids.before_worker_insert(model, using)
    try:
        with transaction.atomic(using=using):
            user.save(force_insert=creating, using=using)
    except IntegrityError:
        logger.warning("edge-auth user %s: conflicts with a user here; not applied", user_id)
        raise EventRejected("User conflicts with another user.") from None
    except DataError:  # e.g. a value longer than this side's column
        raise EventRejected("User does not fit this side's user model.") from None


def _existing_user(user_id):
    model = get_user_model()
    user = model._base_manager.select_for_update().filter(pk=user_id).first()
    if user is None:
        # Events travel through a queue that does not keep order: the user's creation may follow.
        raise RetryLater("Unknown user, try again later.")
    return user


def apply_user_upsert(data):
    _upsert_user(data)


def apply_password_changed(data):
    user_id, password = _user_id(data), data.get("password")
    if not isinstance(password, str) or not password:
        raise EventRejected("Invalid password.")
    user = _existing_user(user_id)
    user.password = password
    user.save(update_fields=["password"])


def apply_deactivated(data):
    user_id = _user_id(data)
    user = _existing_user(user_id)
    if "is_active" in concrete_fields(type(user)):
        user.is_active = False
        user.save(update_fields=["is_active"])
    _move_cutoff(user_id, int(time.time()), None)
    _blacklist_outstanding(user_id, lambda payload, outstanding: True)  # this second's tokens too


# --- revocation ---------------------------------------------------------------------------------


def _blacklist_outstanding(user_id, is_dead):
    """Blacklists the user's live outstanding tokens whose payload `is_dead(payload, outstanding)`."""
    live = OutstandingToken.objects.filter(
        user_id=user_id, blacklistedtoken__isnull=True, expires_at__gt=timezone.now()
    )
    for outstanding in live.iterator():
        if is_dead(unverified_payload(outstanding.token), outstanding):
            BlacklistedToken.objects.get_or_create(token=outstanding)


def _revoke_session(user_id, sid):
    RevokedSession.objects.get_or_create(sid=sid, defaults={"user_id": user_id})
    _blacklist_outstanding(user_id, lambda payload, _: sid_of(payload) == sid)


def _issued_at(payload, outstanding):
    iat = payload.get("iat")
    if _is_int(iat):
        return iat
    return int(to_unix(outstanding.created_at)) if outstanding.created_at else None


def _move_cutoff(user_id, before, except_sid):
    before = min(before, int(time.time()))  # never past this side's clock
    moment = from_unix(before)
    cutoff = SessionCutoff.objects.select_for_update().filter(user_id=user_id).first()
    if cutoff is None:
        SessionCutoff.objects.create(user_id=user_id, before=moment, except_sid=except_sid)
    elif moment >= cutoff.before:
        cutoff.before, cutoff.except_sid = moment, except_sid
        cutoff.save(update_fields=["before", "except_sid"])

    def is_dead(payload, outstanding):
        issued = _issued_at(payload, outstanding)
        if issued is None:
            return except_sid is None or sid_of(payload) != except_sid
        return dies_at_cutoff(issued, sid_of(payload), before, except_sid)

    _blacklist_outstanding(user_id, is_dead)


def apply_sessions_revoked(data):
    _move_cutoff(_user_id(data), _unix(data, "before"), _sid(data, "except_sid"))


def apply_session_revoked(data):
    _revoke_session(_user_id(data), _sid(data, "sid", required=True))


def apply_token_revoked(data):
    user_id, exp, sid = _user_id(data), _unix(data, "exp"), _sid(data, "sid")
    jti, reason = data.get("jti"), data.get("reason")
    if not isinstance(jti, str) or not jti or len(jti) > 255:
        raise EventRejected("Invalid jti.")
    if reason not in REASONS:
        raise EventRejected("Invalid reason.")
    model = get_user_model()
    known = model._base_manager.filter(pk=user_id).exists()
    outstanding, _ = OutstandingToken.objects.get_or_create(
        jti=jti,
        defaults={"user_id": user_id if known else None, "expires_at": from_unix(exp), "token": ""},
    )
    BlacklistedToken.objects.get_or_create(token=outstanding)
    if reason == "logout" and sid is not None:
        _revoke_session(user_id, sid)


APPLIERS = {
    "user.created": apply_user_upsert,
    "user.updated": apply_user_upsert,
    "user.password_changed": apply_password_changed,
    "user.deactivated": apply_deactivated,
    "user.sessions_revoked": apply_sessions_revoked,
    "session.revoked": apply_session_revoked,
    "token.revoked": apply_token_revoked,
}


def apply_event(event_type, data):
    """Applies one event, all or nothing."""
    with applying(), transaction.atomic():
        APPLIERS[event_type](data)
