"""The outbox: events for the worker are written in the transaction of the change, sent after it
commits (by a daemon thread, so no request waits on the worker), and retried with back-off until
the worker has them (PROTOCOL.md, "Answers")."""

import contextlib
import json
import logging
import os
import threading
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.db import connections, router, transaction
from django.utils import timezone

from . import signing
from .conf import get_config
from .models import OutboxEvent, ReceivedEvent

logger = logging.getLogger("edge_auth_django")

# A token.revoked waits at most this long for the end of its request to learn whether it was a rotation.
HOLD_SECONDS = 30
# A row being sent is leased for the timeout plus this, so that another process does not send it too.
LEASE_MARGIN_SECONDS = 30
MAX_BACKOFF_SECONDS = 300
# Received event ids are remembered at least this long (the protocol's 7 days); delivered rows too.
KEEP = timedelta(days=7)
_BATCH = 50
# Only a 400 is for good (the worker cannot apply the event). 401, 403 and 404 are a secret or URL
# an operator fixes (or a worker whose sync/events/ is not enabled yet): the event waits for it.
_PERMANENT = frozenset({400})


def enqueue(event_type, data, hold=False):
    """Writes an event for the worker (in the caller's transaction) and sends it once that commits.

    `hold`: not sent before release() (or HOLD_SECONDS), while its request may still change it."""
    now = timezone.now()
    row = OutboxEvent.objects.create(
        event_id=uuid.uuid4().hex,
        type=event_type,
        payload=data,
        created_at=now,
        next_attempt_at=now + timedelta(seconds=HOLD_SECONDS) if hold else now,
    )
    if not hold:
        transaction.on_commit(kick, using=router.db_for_write(OutboxEvent))
    return row


def release(ids):
    """Makes held rows due now."""
    OutboxEvent.objects.filter(pk__in=list(ids), attempts=0, delivered_at=None, failed=False).update(
        next_attempt_at=timezone.now()
    )


def kick(release_ids=()):
    """Releases `release_ids` and has the daemon thread flush (unless EDGE_AUTH_DELIVER_ON_COMMIT is off)."""
    if not get_config().deliver_on_commit:
        if release_ids:
            release(release_ids)
        return
    _deliverer.kick(release_ids)


# --- sending ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlushResult:
    delivered: int
    failed: int
    pending: int


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is an answer like any other 3xx: retried, never followed with the body


_opener = urllib.request.build_opener(_NoRedirect)
_flush_lock = threading.Lock()


def event_body(row):
    created = row.created_at if timezone.is_aware(row.created_at) else timezone.make_aware(row.created_at)
    event = {
        "id": row.event_id,
        "type": row.type,
        "occurred_at": int(created.timestamp()),
        "source": "django",
        "data": row.payload,
    }
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _post(config, body):
    """(status, start of the answer); raises OSError (URLError, timeouts) when there is no answer."""
    request = urllib.request.Request(
        config.events_url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", signing.HEADER: signing.sign(body, config.secret)},
    )
    try:
        with _opener.open(request, timeout=config.timeout) as response:
            return response.status, response.read(500)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read(500)


def _claim_next(config):
    """The next row to send, leased to this sender; None when nothing is due or a row backs off."""
    now = timezone.now()
    connection = connections[router.db_for_write(OutboxEvent)]
    locking = connection.features.has_select_for_update
    # Without FOR UPDATE (SQLite) no transaction: a read that turns into a write there can fail as
    # "database is locked" at once, while single statements wait for each other.
    with transaction.atomic(using=connection.alias) if locking else contextlib.nullcontext():
        rows = OutboxEvent.objects.filter(delivered_at=None, failed=False).order_by("created_at", "id")
        if locking:
            rows = rows.select_for_update(skip_locked=connection.features.has_select_for_update_skip_locked)
        for row in list(rows[:_BATCH]):
            if row.next_attempt_at > now:
                if row.attempts:
                    return None  # backing off: the rows behind it wait, so that the worker sees them in order
                continue  # held by its request, or leased by another sender
            lease = now + timedelta(seconds=config.timeout + LEASE_MARGIN_SECONDS)
            claimed = OutboxEvent.objects.filter(
                pk=row.pk, next_attempt_at=row.next_attempt_at, delivered_at=None
            ).update(next_attempt_at=lease)
            if claimed:
                return row
    return None


def _prune():
    cutoff = timezone.now() - KEEP
    ReceivedEvent.objects.filter(received_at__lt=cutoff).delete()
    OutboxEvent.objects.filter(delivered_at__lt=cutoff).delete()


def flush():
    """One pass: sends the due rows in the order they were written, until one must be retried."""
    config = get_config()
    delivered = failed = 0
    with _flush_lock:
        _prune()
        while (row := _claim_next(config)) is not None:
            try:
                status, answer = _post(config, event_body(row))
                error = f"HTTP {status}: {answer.decode('utf-8', 'replace')}"
            except OSError as exc:  # URLError, timeouts, refused connections
                status, error = None, f"{type(exc).__name__}: {exc}"
            now = timezone.now()
            if status is not None and (200 <= status < 300 or status == 409):
                OutboxEvent.objects.filter(pk=row.pk).update(delivered_at=now, last_error="")
                delivered += 1
            elif status in _PERMANENT:
                OutboxEvent.objects.filter(pk=row.pk).update(failed=True, last_error=error)
                logger.error("edge-auth refused event %s (%s) for good: %s", row.event_id, row.type, error)
                failed += 1
            else:
                attempts = row.attempts + 1
                delay = min(2**attempts, MAX_BACKOFF_SECONDS)
                OutboxEvent.objects.filter(pk=row.pk).update(
                    attempts=attempts, next_attempt_at=now + timedelta(seconds=delay), last_error=error
                )
                logger.warning(
                    "edge-auth event %s (%s) not delivered, attempt %d, retry in %ds: %s",
                    row.event_id, row.type, attempts, delay, error,
                )
                break
        pending = OutboxEvent.objects.filter(delivered_at=None, failed=False).count()
    return FlushResult(delivered=delivered, failed=failed, pending=pending)


def seconds_until_due():
    """Seconds until the next pending row is due (0 if one is), or None when nothing is pending."""
    row = (
        OutboxEvent.objects.filter(delivered_at=None, failed=False)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    if row is None:
        return None
    return max(0.0, (row - timezone.now()).total_seconds())


class _Deliverer:
    """One daemon thread per process: flushes when kicked, and again when a retry falls due."""

    def __init__(self):
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._release = []
        self._thread = None
        self._pid = None

    def kick(self, release_ids=()):
        with self._lock:
            self._release.extend(release_ids)
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="edge-auth-sync", daemon=True)
                self._thread.start()
        self._wake.set()

    def _run(self):
        timeout = None
        while True:
            self._wake.wait(timeout)
            self._wake.clear()
            release_ids = []
            try:
                with self._lock:
                    release_ids, self._release = self._release, []
                if release_ids:
                    release(release_ids)
                release_ids = []
                if not get_config().deliver_on_commit:  # switched off since: edge_auth_sync delivers
                    timeout = None
                    continue
                flush()
                wait = seconds_until_due()
                timeout = None if wait is None else min(max(wait, 1.0), MAX_BACKOFF_SECONDS)
            except Exception:  # e.g. the database is locked or away: try again shortly
                logger.exception("edge-auth delivery pass failed")
                with self._lock:
                    self._release.extend(release_ids)
                timeout = 5
            finally:
                connections.close_all()  # this thread's connections only


_deliverer = _Deliverer()
