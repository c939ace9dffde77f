"""Each worker event's effect on Django, seen through Django's own views: simplejwt's refresh view
and a DRF view behind EdgeAuthJWTAuthentication."""

import time
import uuid
from unittest import skipUnless
from datetime import datetime, timezone as dt_timezone

from django.contrib.auth.hashers import make_password
from django.test import TestCase
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from edge_auth_django.models import OutboxEvent, RevokedSession, SessionCutoff

from .helpers import (
    User, access_token, has_field, make_user, outstand, seconds_ago, send_event, worker_record, worker_refresh,
)

BLACKLISTED_ACCESS = {
    "detail": "Given token not valid for any token type",
    "code": "token_not_valid",
    "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is blacklisted"}],
}
BLACKLISTED_REFRESH = {"detail": "Token is blacklisted", "code": "token_not_valid"}


class ApplyTestCase(TestCase):
    def tearDown(self):
        # Applying an event never sends anything back.
        if self.expect_silence:
            self.assertEqual(list(OutboxEvent.objects.values_list("type", flat=True)), [])

    expect_silence = True

    def apply(self, event_type, data):
        response = send_event(self.client, event_type, data)
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response.json(), {"status": "applied"})

    def me(self, token):
        return self.client.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {token}")

    def assertAccepted(self, token):
        response = self.me(token)
        self.assertEqual(response.status_code, 200, response.content)

    def assertRefusedAccess(self, token):
        response = self.me(token)
        self.assertEqual(response.status_code, 401)
        self.assertEqual(response.json(), BLACKLISTED_ACCESS)

    def refresh(self, token):
        return self.client.post("/api/token/refresh/", {"refresh": str(token)}, content_type="application/json")

    def assertRefreshRefused(self, token):
        response = self.refresh(token)
        self.assertEqual((response.status_code, response.json()), (401, BLACKLISTED_REFRESH))

    def assertRefreshWorks(self, token):
        response = self.refresh(token)
        self.assertEqual(response.status_code, 200, response.content)
        return response.json()


class UserEventTests(ApplyTestCase):
    def test_a_user_created_on_the_worker_exists_here_with_its_id_hash_and_profile(self):
        hashed = make_password("worker-made-password", hasher="pbkdf2_sha256")
        uuid_here = "8a6e0804-2bd0-4672-b79d-d97027f9071d"
        record = worker_record(1_000_000_001, "ada@example.com", password=hashed, uuid=uuid_here)
        self.apply("user.created", {"user": record})
        user = User().objects.get(pk=1_000_000_001)
        self.assertEqual(user.email, "ada@example.com")
        self.assertEqual(user.password, hashed)
        self.assertEqual(user.get_username(), "ada@example.com")
        self.assertEqual((user.first_name, user.last_name, user.is_active), ("Ada", "Lovelace", True))
        self.assertEqual(user.date_joined, datetime(2024, 1, 1, 10, tzinfo=dt_timezone.utc))
        if has_field("uuid"):
            self.assertEqual(user.uuid, uuid.UUID(uuid_here))
            self.assertEqual((user.timezone, user.is_practitioner, user.email_verified), ("Europe/Paris", True, True))
            self.assertEqual(user.account_status, "active")
            self.assertIsNone(user.phone_number)
        self.expect_silence = False  # the login below re-hashes to this project's hasher, a save of its own
        self.assertTrue(user.check_password("worker-made-password"))

    def test_a_created_event_for_an_existing_id_updates_it(self):
        self.apply("user.created", {"user": worker_record(1_000_000_001, "ada@example.com")})
        self.apply("user.created", {"user": worker_record(1_000_000_001, "ada@example.com", first_name="Augusta")})
        self.assertEqual(User().objects.get(pk=1_000_000_001).first_name, "Augusta")
        self.assertEqual(User().objects.count(), 1)

    def test_an_update_changes_the_user_and_creates_one_that_is_missing(self):
        self.apply("user.updated", {"user": worker_record(1_000_000_002, "new@example.com", last_name="Byron")})
        self.assertEqual(User().objects.get(pk=1_000_000_002).last_name, "Byron")
        mine = make_user("mine@example.com", first_name="Old")
        OutboxEvent.objects.all().delete()
        self.apply("user.updated", {"user": worker_record(mine.pk, "renamed@example.com", first_name="New")})
        mine.refresh_from_db()
        self.assertEqual((mine.email, mine.first_name), ("renamed@example.com", "New"))
        self.assertEqual(mine.get_username(), "renamed@example.com" if has_field("uuid") else "mine@example.com")

    def test_fields_the_record_leaves_out_keep_their_value(self):
        mine = make_user("mine@example.com", first_name="Kept", timezone="Asia/Tokyo")
        OutboxEvent.objects.all().delete()
        minimal = {"id": mine.pk, "email": "mine@example.com", "password": mine.password}
        self.apply("user.updated", {"user": minimal})
        mine.refresh_from_db()
        self.assertEqual(mine.first_name, "Kept")
        if has_field("timezone"):
            self.assertEqual(mine.timezone, "Asia/Tokyo")

    def test_django_s_next_own_user_keeps_an_id_below_the_worker_s(self):
        first = make_user("first@example.com")
        self.apply("user.created", {"user": worker_record(1_000_000_005, "worker@example.com")})
        self.expect_silence = False
        second = make_user("second@example.com")
        self.assertEqual(second.pk, first.pk + 1)
        self.apply("user.created", {"user": worker_record(1_000_000_006, "w2@example.com")})
        self.assertEqual(make_user("third@example.com").pk, first.pk + 2)

    def test_django_never_reuses_the_id_of_a_user_it_deleted(self):
        make_user("first@example.com")
        deleted = make_user("deleted@example.com")
        self.apply("user.created", {"user": worker_record(1_000_000_005, "worker@example.com")})
        deleted_id = deleted.pk
        deleted.delete()
        self.expect_silence = False
        self.assertEqual(make_user("next@example.com").pk, deleted_id + 1)

    def test_a_password_changed_on_the_worker_is_the_one_that_works_here(self):
        user = make_user("ada@example.com", password="old-password-1")
        OutboxEvent.objects.all().delete()
        self.apply("user.password_changed", {"user_id": user.pk, "password": make_password("new-password-2")})
        user.refresh_from_db()
        self.assertFalse(user.check_password("old-password-1"))
        self.assertTrue(user.check_password("new-password-2"))

    def test_a_deactivated_user_is_inactive_and_its_tokens_are_dead(self):
        user = make_user("ada@example.com")
        refresh = RefreshToken.for_user(user)
        access = access_token(user, issued=seconds_ago(5))
        OutboxEvent.objects.all().delete()
        self.apply("user.deactivated", {"user_id": user.pk})
        user.refresh_from_db()
        self.assertFalse(user.is_active)
        self.assertEqual(self.me(access).status_code, 401)
        self.assertTrue(BlacklistedToken.objects.filter(token__jti=refresh["jti"]).exists())


class SessionEventTests(ApplyTestCase):
    def setUp(self):
        self.user = make_user("ada@example.com")
        OutboxEvent.objects.all().delete()

    def test_access_tokens_issued_before_the_cut_off_are_refused_except_the_kept_session(self):
        old = access_token(self.user, "s-old", seconds_ago(60))
        kept = access_token(self.user, "s-kept", seconds_ago(60))
        sidless = access_token(self.user, None, seconds_ago(60))  # as simplejwt mints them
        self.apply("user.sessions_revoked", {"user_id": self.user.pk, "before": int(time.time()) - 10,
                                             "except_sid": "s-kept"})
        self.assertRefusedAccess(old)
        self.assertRefusedAccess(sidless)
        self.assertAccepted(kept)
        self.assertAccepted(access_token(self.user, "s-old"))  # issued after the cut-off

    def test_refresh_tokens_issued_before_the_cut_off_are_blacklisted_except_the_kept_session(self):
        old = worker_refresh(self.user, "s-old", issued=seconds_ago(60))
        kept = worker_refresh(self.user, "s-kept", issued=seconds_ago(60))
        djangos = RefreshToken.for_user(self.user)
        djangos.set_iat(at_time=seconds_ago(60))
        for token in (old, kept):
            outstand(token, self.user)
        OutstandingToken.objects.filter(jti=djangos["jti"]).update(token=str(djangos))
        self.apply("user.sessions_revoked", {"user_id": self.user.pk, "before": int(time.time()) - 10,
                                             "except_sid": "s-kept"})
        self.assertRefreshRefused(old)
        self.assertRefreshRefused(djangos)
        self.assertRefreshWorks(kept)
        self.expect_silence = False  # that refresh rotated a token here, which the worker must hear of

    def test_in_the_cut_off_s_own_second_a_sidless_token_dies_and_a_session_s_token_lives(self):
        # The worker's rule: a token without a session may predate a change made in its second.
        before = int(time.time()) - 10
        at_cut_off = datetime.fromtimestamp(before, tz=dt_timezone.utc)
        sidless = access_token(self.user, None, at_cut_off)
        of_a_session = access_token(self.user, "s-new", at_cut_off)
        djangos = RefreshToken.for_user(self.user)
        djangos.set_iat(at_time=at_cut_off)
        OutstandingToken.objects.filter(jti=djangos["jti"]).update(token=str(djangos))
        self.apply("user.sessions_revoked", {"user_id": self.user.pk, "before": before, "except_sid": None})
        self.assertRefusedAccess(sidless)
        self.assertRefreshRefused(djangos)
        self.assertAccepted(of_a_session)
        self.assertAccepted(access_token(self.user, None, datetime.fromtimestamp(before + 1, tz=dt_timezone.utc)))

    def test_a_cut_off_in_the_future_stops_at_this_side_s_clock(self):
        self.apply("user.sessions_revoked", {"user_id": self.user.pk, "before": int(time.time()) + 3600,
                                             "except_sid": None})
        self.assertLessEqual(SessionCutoff.objects.get(user_id=self.user.pk).before.timestamp(), time.time())
        self.assertAccepted(access_token(self.user, "s-new"))  # a session's token of this second lives

    def test_a_later_cut_off_moves_it_an_earlier_one_does_not(self):
        now = int(time.time())
        self.apply("user.sessions_revoked", {"user_id": self.user.pk, "before": now - 10, "except_sid": "a"})
        self.apply("user.sessions_revoked", {"user_id": self.user.pk, "before": now - 100, "except_sid": "b"})
        cutoff = SessionCutoff.objects.get(user_id=self.user.pk)
        self.assertEqual((int(cutoff.before.timestamp()), cutoff.except_sid), (now - 10, "a"))

    def test_a_revoked_session_s_access_tokens_are_refused_and_others_still_work(self):
        doomed, other = access_token(self.user, "s-doomed"), access_token(self.user, "s-other")
        self.assertAccepted(doomed)
        self.apply("session.revoked", {"user_id": self.user.pk, "sid": "s-doomed"})
        self.assertRefusedAccess(doomed)
        self.assertAccepted(other)
        self.assertTrue(RevokedSession.objects.filter(sid="s-doomed", user_id=self.user.pk).exists())

    @skipUnless(hasattr(RefreshToken, "outstand"), "simplejwt < 5.5 records no rotated successor")
    def test_a_revoked_session_s_refresh_tokens_known_here_are_blacklisted(self):
        # The worker's token was refreshed here once: its successor carries the sid and is outstanding.
        successor = self.assertRefreshWorks(worker_refresh(self.user, "s-doomed"))["refresh"]
        bystander = worker_refresh(self.user, "s-other")
        outstand(bystander, self.user)
        OutboxEvent.objects.all().delete()
        self.apply("session.revoked", {"user_id": self.user.pk, "sid": "s-doomed"})
        self.assertRefreshRefused(successor)
        self.assertRefreshWorks(bystander)
        self.expect_silence = False


class TokenEventTests(ApplyTestCase):
    def setUp(self):
        self.user = make_user("ada@example.com")
        OutboxEvent.objects.all().delete()

    def revoke(self, token, reason, user_id=None):
        self.apply("token.revoked", {"user_id": user_id or self.user.pk, "jti": token["jti"], "exp": token["exp"],
                                     "sid": token.get("sid"), "reason": reason})

    def test_simplejwt_s_refresh_view_refuses_a_token_the_worker_revoked(self):
        token = worker_refresh(self.user, "s1")  # never seen here
        self.revoke(token, "rotated")
        self.assertRefreshRefused(token)
        outstanding = OutstandingToken.objects.get(jti=token["jti"])
        self.assertEqual((outstanding.user_id, outstanding.token), (self.user.pk, ""))
        self.assertEqual(int(outstanding.expires_at.timestamp()), token["exp"])

    def test_simplejwt_s_blacklist_view_refuses_it_too(self):
        token = worker_refresh(self.user, "s1")
        self.revoke(token, "revoked")
        response = self.client.post("/api/token/blacklist/", {"refresh": str(token)}, content_type="application/json")
        self.assertEqual((response.status_code, response.json()), (401, BLACKLISTED_REFRESH))

    def test_a_token_known_here_is_blacklisted_in_place(self):
        token = RefreshToken.for_user(self.user)
        self.revoke(token, "logout")
        self.assertRefreshRefused(token)
        self.assertEqual(OutstandingToken.objects.filter(jti=token["jti"]).count(), 1)

    def test_a_logout_ends_the_token_s_session_a_rotation_does_not(self):
        logged_out, rotated = worker_refresh(self.user, "s-out"), worker_refresh(self.user, "s-rot")
        self.revoke(logged_out, "logout")
        self.revoke(rotated, "rotated")
        self.assertRefusedAccess(access_token(self.user, "s-out"))
        self.assertAccepted(access_token(self.user, "s-rot"))

    def test_a_token_of_a_user_unknown_here_is_still_recorded_dead(self):
        token = worker_refresh(self.user, "s1")
        self.revoke(token, "rotated", user_id=1_000_000_999)
        self.assertIsNone(OutstandingToken.objects.get(jti=token["jti"]).user_id)
        self.assertTrue(BlacklistedToken.objects.filter(token__jti=token["jti"]).exists())

    def test_revoking_a_dead_token_again_is_nothing_to_do(self):
        token = worker_refresh(self.user, "s1")
        self.revoke(token, "rotated")
        self.revoke(token, "revoked")
        self.assertEqual(BlacklistedToken.objects.filter(token__jti=token["jti"]).count(), 1)


class CheckedRefreshTests(ApplyTestCase):
    """EdgeAuthTokenRefreshSerializer: the refresh view itself refuses tokens of ended sessions and
    cut-offs, including tokens that have no row here (a successor simplejwt < 5.5 rotated in)."""

    def setUp(self):
        self.user = make_user("ada@example.com")
        OutboxEvent.objects.all().delete()

    def checked_refresh(self, token):
        return self.client.post("/api/token/refresh-checked/", {"refresh": str(token)}, content_type="application/json")

    def test_a_refresh_token_of_a_revoked_session_is_refused_even_without_a_row(self):
        token = worker_refresh(self.user, "s-doomed")
        self.apply("session.revoked", {"user_id": self.user.pk, "sid": "s-doomed"})
        self.assertFalse(OutstandingToken.objects.filter(jti=token["jti"]).exists())
        response = self.checked_refresh(token)
        self.assertEqual((response.status_code, response.json()), (401, BLACKLISTED_REFRESH))

    def test_a_refresh_token_issued_before_the_cut_off_is_refused_except_the_kept_session(self):
        old = worker_refresh(self.user, "s-old", issued=seconds_ago(60))
        kept = worker_refresh(self.user, "s-kept", issued=seconds_ago(60))
        self.apply("user.sessions_revoked", {"user_id": self.user.pk, "before": int(time.time()) - 10,
                                             "except_sid": "s-kept"})
        self.assertEqual(self.checked_refresh(old).json(), BLACKLISTED_REFRESH)
        response = self.checked_refresh(kept)
        self.assertEqual(response.status_code, 200, response.content)
        self.expect_silence = False

    def test_an_untouched_token_refreshes_as_with_simplejwt_s_own_serializer(self):
        response = self.checked_refresh(worker_refresh(self.user, "s1"))
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(set(response.json()), {"access", "refresh"})
        self.assertEqual(outbox_reasons(), ["rotated"])
        self.expect_silence = False


def outbox_reasons():
    return [row.payload["reason"] for row in OutboxEvent.objects.filter(type="token.revoked")]
