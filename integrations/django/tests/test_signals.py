"""Django's changes become outbox events for the worker, and nothing else does."""

import contextlib
import time
from unittest import mock

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import TestCase
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from edge_auth_django.apply import applying
from edge_auth_django.models import OutboxEvent

from .helpers import make_user, outbox, outstand, worker_refresh


@contextlib.contextmanager
def in_request():
    """A request's start and end, sent as Django's test client sends them (keeping the test's connection)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        request_started.send(sender=None)
        yield
        request_finished.send(sender=None)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def types():
    return [event_type for event_type, _ in outbox()]


class UserSignalTests(TestCase):
    def test_a_new_user_is_sent_as_user_created_with_its_record(self):
        user = make_user("ada@example.com", first_name="Ada")
        [(event_type, data)] = outbox()
        self.assertEqual(event_type, "user.created")
        self.assertEqual(data["user"]["id"], user.pk)
        self.assertEqual(data["user"]["email"], "ada@example.com")
        self.assertEqual(data["user"]["password"], user.password)
        self.assertEqual(data["user"]["first_name"], "Ada")

    def test_a_changed_user_is_sent_as_user_updated(self):
        user = make_user("ada@example.com")
        OutboxEvent.objects.all().delete()
        user.first_name = "Augusta"
        user.save()
        self.assertEqual(outbox(), [("user.updated", {"user": outbox()[0][1]["user"]})])
        self.assertEqual(outbox()[0][1]["user"]["first_name"], "Augusta")

    def test_a_login_that_only_records_last_login_sends_nothing(self):
        user = make_user("ada@example.com", password="a-good-password-1")
        OutboxEvent.objects.all().delete()
        field = get_user_model().USERNAME_FIELD
        credentials = {field: user.get_username(), "password": "a-good-password-1"}
        response = self.client.post("/api/token/", credentials, content_type="application/json")
        self.assertEqual(response.status_code, 200, response.content)
        user.refresh_from_db()
        self.assertIsNotNone(user.last_login)
        self.assertEqual(outbox(), [])

    def test_a_new_password_also_sends_password_changed_and_ends_every_session(self):
        user = make_user("ada@example.com")
        OutboxEvent.objects.all().delete()
        user.set_password("another-password-2")
        user.save()
        self.assertEqual(types(), ["user.updated", "user.password_changed", "user.sessions_revoked"])
        changed, revoked = outbox()[1][1], outbox()[2][1]
        self.assertEqual(changed, {"user_id": user.pk, "password": user.password})
        self.assertEqual(revoked["user_id"], user.pk)
        self.assertIsNone(revoked["except_sid"])
        self.assertAlmostEqual(revoked["before"], time.time(), delta=5)

    def test_a_password_set_through_update_fields_counts_too(self):
        user = make_user("ada@example.com")
        OutboxEvent.objects.all().delete()
        user.set_password("another-password-2")
        user.save(update_fields=["password"])
        self.assertEqual(types(), ["user.updated", "user.password_changed", "user.sessions_revoked"])

    def test_an_unusable_password_counts_as_a_change(self):
        user = make_user("ada@example.com")
        OutboxEvent.objects.all().delete()
        user.set_unusable_password()
        user.save()
        self.assertEqual(types(), ["user.updated", "user.password_changed", "user.sessions_revoked"])

    def test_a_login_that_rehashes_the_same_password_is_not_a_password_change(self):
        user = make_user("ada@example.com")
        type(user).objects.filter(pk=user.pk).update(password=make_password("same-password-3", hasher="pbkdf2_sha256"))
        user.refresh_from_db()
        OutboxEvent.objects.all().delete()
        self.assertTrue(user.check_password("same-password-3"))  # upgrades to this project's first hasher
        self.assertTrue(user.password.startswith("md5$"))
        [(event_type, data)] = outbox()
        self.assertEqual((event_type, data["user"]["password"]), ("user.updated", user.password))

    def test_deactivating_a_user_also_sends_user_deactivated(self):
        user = make_user("ada@example.com")
        OutboxEvent.objects.all().delete()
        user.is_active = False
        user.save()
        self.assertEqual(outbox()[1], ("user.deactivated", {"user_id": user.pk}))
        OutboxEvent.objects.all().delete()
        user.save()  # still inactive: no second deactivation
        self.assertEqual(types(), ["user.updated"])

    def test_nothing_is_written_when_the_transaction_is_rolled_back(self):
        try:
            with transaction.atomic():
                make_user("ghost@example.com")
                raise RuntimeError("undo")
        except RuntimeError:
            pass
        self.assertEqual(outbox(), [])

    def test_changes_made_while_applying_a_worker_event_send_nothing(self):
        with applying():
            user = make_user("ada@example.com")
            user.set_password("another-password-2")
            user.is_active = False
            user.save()
            RefreshToken.for_user(user).blacklist()
        self.assertEqual(outbox(), [])


class TokenSignalTests(TestCase):
    def setUp(self):
        self.user = make_user("ada@example.com")
        OutboxEvent.objects.all().delete()

    def post(self, path, refresh):
        response = self.client.post(path, {"refresh": str(refresh)}, content_type="application/json")
        self.assertEqual(response.status_code, 200, response.content)
        return response

    def assertOneRevoked(self, token, reason, sid):
        [(event_type, data)] = outbox()
        self.assertEqual(event_type, "token.revoked")
        self.assertEqual(
            data, {"user_id": self.user.pk, "jti": token["jti"], "exp": token["exp"], "sid": sid, "reason": reason}
        )
        row = OutboxEvent.objects.get()
        self.assertLessEqual(row.next_attempt_at, timezone.now())  # released when its request ended

    def test_simplejwt_s_refresh_view_rotating_a_worker_token_is_reported_as_rotated(self):
        token = worker_refresh(self.user, "s1")
        self.post("/api/token/refresh/", token)
        self.assertOneRevoked(token, "rotated", "s1")

    def test_a_rotation_by_simplejwt_5_3_or_5_4_which_records_no_successor_is_still_rotated(self):
        token = worker_refresh(self.user, "s1")
        as_before_5_5 = (
            mock.patch.object(RefreshToken, "outstand", lambda self: None)
            if hasattr(RefreshToken, "outstand")
            else contextlib.nullcontext()
        )
        with as_before_5_5:
            self.post("/api/token/refresh/", token)
        self.assertFalse(OutstandingToken.objects.exclude(jti=token["jti"]).exists())
        self.assertOneRevoked(token, "rotated", "s1")

    def test_a_successor_recorded_in_the_same_request_makes_it_a_rotation(self):
        with in_request():
            rotated = worker_refresh(self.user, "s1")
            original = dict(rotated.payload)
            rotated.blacklist()  # as a refresh view of the project's own would
            self.assertGreater(OutboxEvent.objects.get().next_attempt_at, timezone.now())  # held for now
            rotated.set_jti()
            outstand(rotated, self.user)
        self.assertOneRevoked(original, "rotated", "s1")

    def test_rotating_a_django_token_without_a_session_is_reported_as_rotated(self):
        token = RefreshToken.for_user(self.user)
        OutboxEvent.objects.all().delete()
        self.post("/api/token/refresh/", token)
        self.assertOneRevoked(token, "rotated", None)

    def test_simplejwt_s_blacklist_view_is_reported_as_a_logout(self):
        token = worker_refresh(self.user, "s1")
        self.post("/api/token/blacklist/", token)
        self.assertOneRevoked(token, "logout", "s1")

    def test_a_blacklisting_outside_any_request_is_a_logout_sent_at_once(self):
        token = worker_refresh(self.user, "s1")
        token.blacklist()
        self.assertOneRevoked(token, "logout", "s1")

    def test_a_successor_of_another_session_does_not_make_a_logout_a_rotation(self):
        with in_request():
            logged_out = worker_refresh(self.user, "s1")
            logged_out.blacklist()
            row = OutboxEvent.objects.get()
            self.assertGreater(row.next_attempt_at, timezone.now())  # held until the request ends
            outstand(worker_refresh(self.user, "s2"), self.user)
        self.assertOneRevoked(logged_out, "logout", "s1")

    def test_a_blacklisting_that_creates_no_new_row_sends_nothing(self):
        token = worker_refresh(self.user, "s1")
        token.blacklist()
        OutboxEvent.objects.all().delete()
        BlacklistedToken.objects.get_or_create(token=BlacklistedToken.objects.get().token)
        self.assertEqual(outbox(), [])
