"""The worker's requests to the companion: signatures, lookups, the answers to events."""

import json
import time

from django.contrib.auth import get_user_model
from django.test import TestCase

from edge_auth_django import signing
from edge_auth_django.models import OutboxEvent, ReceivedEvent

from .helpers import SECRET, User, event, has_field, make_user, post_signed, worker_record

LOOKUP = "/edge-auth/users/lookup/"
EVENTS = "/edge-auth/events/"


class SignatureAttackTests(TestCase):
    """Every way of getting the signature wrong is a 401 that changes nothing, on both endpoints."""

    def setUp(self):
        self.update = event("user.created", {"user": worker_record(1_000_000_001, "new@example.com")})

    def assertRefused(self, response, detail="Invalid signature."):
        self.assertEqual(response.status_code, 401)
        self.assertEqual(response.json(), {"detail": detail})
        self.assertFalse(User().objects.filter(pk=1_000_000_001).exists())
        self.assertEqual(ReceivedEvent.objects.count(), 0)

    def test_a_tampered_body_is_refused(self):
        body = json.dumps(self.update).encode()
        header = signing.sign(body, SECRET)
        tampered = body.replace(b"new@example.com", b"evil@example.com")
        self.assertRefused(post_signed(self.client, EVENTS, tampered, header=header))

    def test_a_request_signed_with_another_secret_is_refused(self):
        self.assertRefused(post_signed(self.client, EVENTS, self.update, secret="x" * 40))

    def test_a_stale_request_is_refused_as_expired(self):
        self.assertRefused(post_signed(self.client, EVENTS, self.update, at=time.time() - 301), "Signature expired.")

    def test_a_request_from_the_future_is_refused_as_expired(self):
        self.assertRefused(post_signed(self.client, EVENTS, self.update, at=time.time() + 301), "Signature expired.")

    def test_a_missing_header_is_refused(self):
        self.assertRefused(post_signed(self.client, EVENTS, self.update, header=False))

    def test_a_malformed_header_is_refused(self):
        for header in ["", "t=1", "v1=00", "garbage", "t=abc,v1=" + "0" * 64]:
            with self.subTest(header=header):
                self.assertRefused(post_signed(self.client, EVENTS, self.update, header=header))

    def test_the_lookup_is_signed_too(self):
        make_user("known@example.com")
        for kwargs in [{"header": False}, {"secret": "x" * 40}, {"at": time.time() - 1000}]:
            with self.subTest(**{k: str(v) for k, v in kwargs.items()}):
                response = post_signed(self.client, LOOKUP, {"email": "known@example.com"}, **kwargs)
                self.assertEqual(response.status_code, 401)
                self.assertNotIn("user", response.json())

    def test_a_bad_signature_is_refused_before_the_body_is_read(self):
        response = post_signed(self.client, EVENTS, b"not json", secret="x" * 40)
        self.assertEqual((response.status_code, response.json()), (401, {"detail": "Invalid signature."}))

    def test_only_post_is_served(self):
        for path in (LOOKUP, EVENTS):
            response = self.client.get(path)
            self.assertEqual(response.status_code, 405)
            self.assertEqual(response.json(), {"detail": 'Method "GET" not allowed.'})
            self.assertEqual(response["Allow"], "POST")


class ReplayTests(TestCase):
    def test_a_replayed_event_is_answered_409_and_does_nothing_again(self):
        record = worker_record(1_000_000_001, "ada@example.com", first_name="Ada")
        created = event("user.created", {"user": record})
        self.assertEqual(post_signed(self.client, EVENTS, created).json(), {"status": "applied"})
        user = User().objects.get(pk=1_000_000_001)
        if has_field("first_name"):
            user.first_name = "Changed here since"
            user.save()
        OutboxEvent.objects.all().delete()
        replay = post_signed(self.client, EVENTS, created)  # same id, freshly signed
        self.assertEqual(replay.status_code, 409)
        self.assertEqual(replay.json(), {"detail": "Event already received."})
        if has_field("first_name"):
            self.assertEqual(User().objects.get(pk=1_000_000_001).first_name, "Changed here since")
        self.assertEqual(OutboxEvent.objects.count(), 0)

    def test_an_event_that_could_not_be_applied_can_be_delivered_again(self):
        changed = event("user.password_changed", {"user_id": 1_000_000_001, "password": "md5$salt$new"})
        first = post_signed(self.client, EVENTS, changed)
        self.assertEqual(first.status_code, 503)  # the user has not arrived yet: the worker retries
        self.assertFalse(ReceivedEvent.objects.exists())
        post_signed(self.client, EVENTS, event("user.created", {"user": worker_record(1_000_000_001, "a@example.com")}))
        self.assertEqual(post_signed(self.client, EVENTS, changed).status_code, 200)
        self.assertEqual(User().objects.get(pk=1_000_000_001).password, "md5$salt$new")
        self.assertTrue(ReceivedEvent.objects.filter(event_id=changed["id"]).exists())


class BadEventTests(TestCase):
    def assertBad(self, payload):
        response = post_signed(self.client, EVENTS, payload)
        self.assertEqual(response.status_code, 400, response.content)
        self.assertIn("detail", response.json())
        self.assertFalse(ReceivedEvent.objects.exists())

    def test_events_it_cannot_apply_are_400(self):
        good = event("session.revoked", {"user_id": 7, "sid": "s1"})
        cases = {
            "not json": b"{nope",
            "not utf-8": b'{"id": "\xff"}',
            "not an object": [good],
            "unknown type": {**good, "type": "user.exploded"},
            "no id": {k: v for k, v in good.items() if k != "id"},
            "uppercase id": {**good, "id": good["id"].upper()},
            "short id": {**good, "id": "abc"},
            "no data": {**good, "data": None},
            "no occurred_at": {k: v for k, v in good.items() if k != "occurred_at"},
            "no source": {k: v for k, v in good.items() if k != "source"},
            "no sid": {**good, "data": {"user_id": 7}},
            "bad user_id": {**good, "data": {"user_id": "seven", "sid": "s1"}},
            "boolean user_id": {**good, "data": {"user_id": True, "sid": "s1"}},
            "token without jti": event("token.revoked", {"user_id": 7, "exp": 2, "sid": None, "reason": "logout"}),
            "token with unknown reason": event(
                "token.revoked", {"user_id": 7, "jti": "j", "exp": 2, "sid": None, "reason": "bored"}
            ),
            "cut-off without before": event("user.sessions_revoked", {"user_id": 7, "except_sid": None}),
            "cut-off after year 9999": event(
                "user.sessions_revoked", {"user_id": 7, "before": 10**12, "except_sid": None}
            ),
            "token expiring after year 9999": event(
                "token.revoked", {"user_id": 7, "jti": "j", "exp": 10**12, "sid": None, "reason": "logout"}
            ),
            "user without email": event("user.created", {"user": {"id": 5, "password": "x"}}),
            "user with a bad uuid": event("user.created", {"user": worker_record(5, "u@example.com", uuid="nope")})
            if has_field("uuid")
            else event("user.created", {"user": {"id": "x", "email": "u@example.com", "password": "x"}}),
        }
        for name, payload in cases.items():
            with self.subTest(name):
                self.assertBad(payload)

    def test_a_user_whose_email_belongs_to_another_id_is_refused(self):
        mine = make_user("Taken@Example.com")
        incoming = event("user.created", {"user": worker_record(1_000_000_001, "taken@example.com")})
        response = post_signed(self.client, EVENTS, incoming)
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json(), {"detail": "Email belongs to another user."})
        self.assertFalse(User().objects.filter(pk=1_000_000_001).exists())
        mine.refresh_from_db()
        self.assertEqual(mine.email, "Taken@Example.com")


class LookupTests(TestCase):
    def lookup(self, email):
        return post_signed(self.client, LOOKUP, {"email": email})

    def test_a_known_email_answers_the_user_record(self):
        user = make_user(
            "ada@example.com",
            first_name="Ada",
            last_name="Lovelace",
            phone_number="+15550100",
            timezone="Europe/London",
            is_practitioner=True,
        )
        response = self.lookup("ada@example.com")
        self.assertEqual(response.status_code, 200)
        record = response.json()["user"]
        self.assertEqual(record["id"], user.pk)
        self.assertEqual(record["email"], "ada@example.com")
        self.assertEqual(record["password"], user.password)
        self.assertEqual(record["is_active"], True)
        self.assertRegex(record["date_joined"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertIsNone(record["last_login"])
        always = ["id", "email", "password", "first_name", "last_name", "is_active", "is_staff", "is_superuser",
                  "date_joined", "last_login"]
        self.assertEqual(list(record)[:10], always)
        if has_field("uuid"):
            self.assertEqual(record["uuid"], str(user.uuid))
            self.assertEqual(record["phone_number"], "+15550100")
            self.assertEqual(record["timezone"], "Europe/London")
            self.assertIs(record["is_practitioner"], True)
            self.assertEqual(record["account_status"], "active")
            self.assertIs(record["email_verified"], False)
        else:
            self.assertNotIn("uuid", record)
            self.assertNotIn("timezone", record)

    def test_the_email_is_matched_without_regard_to_case(self):
        user = make_user("Mixed.Case@Example.com")
        response = self.lookup("mixed.case@example.COM")
        self.assertEqual(response.json()["user"]["id"], user.pk)

    def test_an_exact_match_wins_over_a_case_variant(self):
        make_user("twin@example.com")
        upper = make_user("TWIN@example.com")
        self.assertEqual(self.lookup("TWIN@example.com").json()["user"]["id"], upper.pk)

    def test_an_unknown_email_is_404(self):
        make_user("someone@example.com")
        response = self.lookup("nobody@example.com")
        self.assertEqual((response.status_code, response.json()), (404, {"detail": "Not found."}))

    def test_a_lookup_without_an_email_is_400(self):
        for payload in [{}, {"email": ""}, {"email": 5}, ["a@example.com"]]:
            with self.subTest(payload=payload):
                self.assertEqual(post_signed(self.client, LOOKUP, payload).status_code, 400)

    def test_an_inactive_user_is_answered_so_that_the_worker_refuses_it(self):
        make_user("gone@example.com", is_active=False)
        self.assertIs(self.lookup("gone@example.com").json()["user"]["is_active"], False)

    def test_a_lookup_writes_nothing(self):
        make_user("ada@example.com")
        OutboxEvent.objects.all().delete()
        self.lookup("ada@example.com")
        self.assertFalse(OutboxEvent.objects.exists())
        self.assertIsNone(get_user_model().objects.get(email="ada@example.com").last_login)
