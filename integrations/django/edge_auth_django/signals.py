"""Django's changes, as outbox events for the worker (PROTOCOL.md, "What each side sends").

Nothing is written while a worker event is being applied. A blacklisted refresh token is reported
as `rotated` when simplejwt's refresh view rotated it: simplejwt >= 5.5 blacklists the old token and
then records its successor, which keeps the claims, `sid` included, so such an event waits in the
outbox until its request ends and is then released. simplejwt 5.3 and 5.4 record no successor;
there (and for any refresh serializer built on simplejwt's) a blacklisting made from inside
TokenRefreshSerializer.validate is the rotation itself."""

import inspect
import threading
import time

from django.contrib.auth import get_user_model
from django.core.signals import request_finished, request_started
from django.db.models.signals import post_save, pre_save
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from . import ids, outbox
from .apply import is_applying
from .models import OutboxEvent
from .records import concrete_fields, to_record, to_unix
from .tokens import sid_of, unverified_payload

_request = threading.local()


class _RequestState:
    def __init__(self):
        self.blacklisted = []  # [row id, user id, sid, jti, rotated]


def connect():
    pre_save.connect(_user_pre_save, dispatch_uid="edge_auth_user_pre_save")
    post_save.connect(_user_post_save, dispatch_uid="edge_auth_user_post_save")
    post_save.connect(_token_blacklisted, sender=BlacklistedToken, dispatch_uid="edge_auth_token_blacklisted")
    post_save.connect(_token_outstanding, sender=OutstandingToken, dispatch_uid="edge_auth_token_outstanding")
    request_started.connect(_request_started, dispatch_uid="edge_auth_request_started")
    request_finished.connect(_request_finished, dispatch_uid="edge_auth_request_finished")


def _is_user_model(sender):
    return sender._meta.concrete_model is get_user_model()


def _last_login_only(update_fields):
    return update_fields is not None and set(update_fields) == {"last_login"}


# --- users --------------------------------------------------------------------------------------


def _user_pre_save(sender, instance, raw=False, using=None, update_fields=None, **kwargs):
    """Remembers the stored password and active flag, to tell what the save changes."""
    if not raw and _is_user_model(sender):
        ids.assign_id(instance, using)
    if raw or is_applying() or not _is_user_model(sender) or _last_login_only(update_fields):
        return
    before = None
    if instance.pk is not None:
        names = [name for name in ("password", "is_active") if name in concrete_fields(sender)]
        before = sender._base_manager.using(using).filter(pk=instance.pk).values(*names).first()
    instance._edge_auth_before = before


def _user_post_save(sender, instance, created, raw=False, using=None, update_fields=None, **kwargs):
    if raw or is_applying() or not _is_user_model(sender) or _last_login_only(update_fields):
        return
    before = instance.__dict__.pop("_edge_auth_before", None)
    outbox.enqueue("user.created" if created else "user.updated", {"user": to_record(instance)})
    if created or before is None:
        return
    # check_password() re-hashing a correct password saves only the hash, with no raw password set:
    # Django itself does not count that as a change of password.
    rehash = (
        update_fields is not None
        and set(update_fields) == {"password"}
        and getattr(instance, "_password", None) is None
    )
    if "password" in before and before["password"] != instance.password and not rehash:
        outbox.enqueue("user.password_changed", {"user_id": instance.pk, "password": instance.password})
        outbox.enqueue(
            "user.sessions_revoked", {"user_id": instance.pk, "before": int(time.time()), "except_sid": None}
        )
    if before.get("is_active") and not instance.is_active:
        outbox.enqueue("user.deactivated", {"user_id": instance.pk})


# --- tokens -------------------------------------------------------------------------------------


def _user_id_of(outstanding, payload):
    if outstanding.user_id is not None:
        return outstanding.user_id
    claimed = payload.get(jwt_settings.USER_ID_CLAIM)
    try:
        return int(claimed)
    except (TypeError, ValueError):
        return None


def _in_simplejwt_refresh():
    code = TokenRefreshSerializer.validate.__code__
    frame = inspect.currentframe()
    while frame is not None:
        if frame.f_code is code:
            return True
        frame = frame.f_back
    return False


def _token_blacklisted(sender, instance, created, raw=False, **kwargs):
    if not created or raw or is_applying():
        return
    outstanding = instance.token
    payload = unverified_payload(outstanding.token)
    user_id, sid = _user_id_of(outstanding, payload), sid_of(payload)
    data = {
        "user_id": user_id,
        "jti": outstanding.jti,
        "exp": int(to_unix(outstanding.expires_at)),
        "sid": sid,
        "reason": "rotated" if _in_simplejwt_refresh() else "logout",
    }
    state = getattr(_request, "state", None)
    if state is None or data["reason"] == "rotated":  # outside a request nothing can rotate it any more
        outbox.enqueue("token.revoked", data)
        return
    row = outbox.enqueue("token.revoked", data, hold=True)
    state.blacklisted.append([row.pk, user_id, sid, outstanding.jti, False])


def _token_outstanding(sender, instance, created, raw=False, **kwargs):
    """A successor of a token blacklisted in this request, with its session, makes that a rotation."""
    state = getattr(_request, "state", None)
    if not created or raw or is_applying() or state is None:
        return
    payload = unverified_payload(instance.token)
    user_id, sid = _user_id_of(instance, payload), sid_of(payload)
    for entry in state.blacklisted:
        row_id, old_user_id, old_sid, old_jti, rotated = entry
        if not rotated and old_jti != instance.jti and old_user_id == user_id and old_sid == sid:
            row = OutboxEvent.objects.filter(pk=row_id, delivered_at=None).first()
            if row is not None:  # (gone if its transaction was rolled back)
                row.payload = {**row.payload, "reason": "rotated"}
                row.save(update_fields=["payload"])
            entry[4] = True
            return


def _request_started(sender, **kwargs):
    _request.state = _RequestState()


def _request_finished(sender, **kwargs):
    state = getattr(_request, "state", None)
    _request.state = None
    if state is not None and state.blacklisted:
        outbox.kick([entry[0] for entry in state.blacklisted])
