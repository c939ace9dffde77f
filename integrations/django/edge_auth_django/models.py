"""What the companion keeps: events waiting for the worker, ids of events received from it, and the
revocations the worker made that simplejwt has no table for (sessions and per-user cut-offs).

Users are referred to by plain integer ids, never by a foreign key: an event may name a user this
side does not have yet, and the project's user model needs nothing beyond AbstractBaseUser."""

from django.db import models
from django.utils import timezone


class OutboxEvent(models.Model):
    """An event for the worker, written in the transaction of the change it describes."""

    event_id = models.CharField(max_length=32, unique=True)
    type = models.CharField(max_length=64)
    payload = models.JSONField(help_text="The event's `data`.")
    created_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    failed = models.BooleanField(default=False, help_text="Refused by the worker for good (4xx): not retried.")

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["delivered_at", "failed", "created_at"], name="edge_auth_outbox_pending")]

    def __str__(self):
        return f"{self.type} {self.event_id}"


class ReceivedEvent(models.Model):
    """An event from the worker that was applied; its id answers a replay with 409."""

    event_id = models.CharField(max_length=32, primary_key=True)
    type = models.CharField(max_length=64)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self):
        return f"{self.type} {self.event_id}"


class RevokedSession(models.Model):
    """A worker session that ended: every token carrying its `sid` is dead."""

    sid = models.CharField(max_length=255, unique=True)
    user_id = models.BigIntegerField(db_index=True)
    at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"session {self.sid} of user {self.user_id}"


class SessionCutoff(models.Model):
    """Every token of the user issued before `before` is dead, except those of session `except_sid`."""

    user_id = models.BigIntegerField(unique=True)
    before = models.DateTimeField()
    except_sid = models.CharField(max_length=255, null=True, blank=True)

    def __str__(self):
        return f"user {self.user_id} before {self.before.isoformat()}"


class IdSequence(models.Model):
    """SQLite only: the highest id Django gave its own users of `table` below the worker's ids."""

    table = models.CharField(max_length=255, unique=True)
    last_id = models.BigIntegerField(default=0)

    def __str__(self):
        return f"{self.table}: {self.last_id}"
