"""The outbox reaching the worker: a local http.server stands in for the worker's sync/events/."""

import io
import json
import threading
import time
from datetime import timedelta
from unittest import mock

from django.core.management import call_command
from django.test import TestCase, TransactionTestCase, override_settings
from django.utils import timezone

from edge_auth_django import outbox as outbox_module
from edge_auth_django.models import OutboxEvent, ReceivedEvent
from edge_auth_django.outbox import enqueue, flush

from .helpers import StubWorker, make_user, worker_refresh


def rows():
    return list(OutboxEvent.objects.order_by("created_at", "id"))


def make_due():
    OutboxEvent.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))


class FlushTests(TestCase):
    def setUp(self):
        self.stub = StubWorker().__enter__()
        self.addCleanup(self.stub.__exit__)
        override = override_settings(EDGE_AUTH_URL=self.stub.url)
        override.enable()
        self.addCleanup(override.disable)

    def enqueue(self, count):
        return [enqueue("user.deactivated", {"user_id": n}) for n in range(1, count + 1)]

    def sent_ids(self):
        return [data["user_id"] for _, data in self.stub.events()]

    def test_due_rows_are_sent_in_the_order_they_were_written_signed_and_marked_delivered(self):
        written = self.enqueue(3)
        result = flush()
        self.assertEqual((result.delivered, result.failed, result.pending), (3, 0, 0))
        self.assertEqual(self.sent_ids(), [1, 2, 3])
        for (path, headers, body, valid), row in zip(self.stub.received, written):
            self.assertEqual(path, "/api/v1/auth/sync/events/")
            self.assertTrue(valid)
            self.assertEqual(headers["Content-Type"], "application/json")
            sent = json.loads(body)
            self.assertEqual(set(sent), {"id", "type", "occurred_at", "source", "data"})
            self.assertEqual((sent["id"], sent["type"], sent["source"]), (row.event_id, "user.deactivated", "django"))
            self.assertAlmostEqual(sent["occurred_at"], time.time(), delta=5)
        self.assertTrue(all(row.delivered_at for row in rows()))
        self.assertEqual(flush().delivered, 0)  # delivered rows are not sent again

    def test_409_means_the_worker_has_it_already(self):
        self.stub.statuses = [409]
        self.enqueue(1)
        self.assertEqual(flush().delivered, 1)

    def test_a_refused_event_is_kept_as_failed_never_retried_and_does_not_block_the_rest(self):
        for status in (400,):
            with self.subTest(status=status):
                OutboxEvent.objects.all().delete()
                self.stub.received.clear()
                self.stub.statuses = [status]
                self.enqueue(2)
                result = flush()
                self.assertEqual((result.delivered, result.failed, result.pending), (1, 1, 0))
                first, second = rows()
                self.assertTrue(first.failed)
                self.assertIsNone(first.delivered_at)
                self.assertIn(f"HTTP {status}", first.last_error)
                self.assertIsNotNone(second.delivered_at)
                make_due()
                flush()
                self.assertEqual(len(self.stub.received), 2)

    def test_a_wrong_secret_or_url_is_retried_until_an_operator_fixes_it(self):
        for status in (401, 403, 404):
            with self.subTest(status=status):
                OutboxEvent.objects.all().delete()
                self.stub.received.clear()
                self.stub.statuses = [status]
                self.enqueue(2)
                result = flush()
                self.assertEqual((result.delivered, result.failed, result.pending), (0, 0, 2))
                first = rows()[0]
                self.assertFalse(first.failed)
                self.assertEqual(first.attempts, 1)
                self.assertIn(f"HTTP {status}", first.last_error)
                make_due()
                self.stub.statuses = [200]
                self.assertEqual(flush().delivered, 2)

    def test_a_5xx_backs_off_and_stops_the_pass_so_that_order_is_kept(self):
        self.stub.statuses = [503]
        self.enqueue(3)
        before = timezone.now()
        result = flush()
        self.assertEqual((result.delivered, result.failed, result.pending), (0, 0, 3))
        self.assertEqual(self.sent_ids(), [1])
        first = rows()[0]
        self.assertEqual(first.attempts, 1)
        self.assertIn("HTTP 503", first.last_error)
        self.assertAlmostEqual((first.next_attempt_at - before).total_seconds(), 2, delta=1)
        flush()  # the first row is not due yet, and the others wait behind it
        self.assertEqual(self.sent_ids(), [1])
        make_due()
        self.assertEqual(flush().delivered, 3)
        self.assertEqual(self.sent_ids(), [1, 1, 2, 3])

    def test_the_back_off_doubles_up_to_five_minutes(self):
        self.enqueue(1)
        delays = []
        for _ in range(10):
            self.stub.statuses = [500]
            make_due()
            start = timezone.now()
            flush()
            delays.append(round((rows()[0].next_attempt_at - start).total_seconds()))
        self.assertEqual(delays, [2, 4, 8, 16, 32, 64, 128, 256, 300, 300])
        self.assertEqual(rows()[0].attempts, 10)

    def test_no_answer_is_retried(self):
        for status in ("drop", "slow"):
            with self.subTest(status=status), override_settings(EDGE_AUTH_TIMEOUT=0.5):
                OutboxEvent.objects.all().delete()
                self.stub.statuses = [status]
                self.enqueue(1)
                self.assertEqual(flush().pending, 1)
                self.assertEqual(rows()[0].attempts, 1)
                self.assertTrue(rows()[0].last_error)

    def test_a_worker_that_is_down_is_retried(self):
        self.enqueue(1)
        with override_settings(EDGE_AUTH_URL="http://127.0.0.1:9/api/v1/auth/"):
            self.assertEqual(flush().pending, 1)
        self.assertEqual(rows()[0].attempts, 1)

    def test_a_redirect_is_not_followed_but_retried(self):
        self.stub.statuses = [302]
        self.enqueue(1)
        self.assertEqual(flush().pending, 1)
        self.assertEqual(len(self.stub.received), 1)
        self.assertIn("HTTP 302", rows()[0].last_error)

    def test_each_attempt_is_signed_at_its_own_time(self):
        self.stub.statuses = [500]
        self.enqueue(1)
        flush()
        make_due()
        with mock.patch("edge_auth_django.signing.time.time", return_value=time.time() + 100):
            flush()
        stamps = [headers["Edge-Auth-Signature"].split(",")[0] for _, headers, _, _ in self.stub.received]
        self.assertEqual(len(stamps), 2)
        self.assertNotEqual(stamps[0], stamps[1])
        self.assertTrue(all(valid for *_, valid in self.stub.received))

    def test_rows_held_or_leased_elsewhere_are_skipped_without_blocking_the_rest(self):
        held = enqueue("token.revoked", {"user_id": 1}, hold=True)
        self.enqueue(1)
        self.assertEqual(flush().delivered, 1)
        self.assertEqual(self.sent_ids(), [1])
        held.refresh_from_db()
        self.assertIsNone(held.delivered_at)
        outbox_module.release([held.pk])
        self.assertEqual(flush().delivered, 1)

    def test_old_received_ids_and_delivered_rows_are_pruned_after_seven_days(self):
        old, recent = timezone.now() - timedelta(days=7, minutes=1), timezone.now() - timedelta(days=6)
        ReceivedEvent.objects.create(event_id="a" * 32, type="x", received_at=old)
        ReceivedEvent.objects.create(event_id="b" * 32, type="x", received_at=recent)
        delivered, failed = self.enqueue(2)
        OutboxEvent.objects.filter(pk=delivered.pk).update(delivered_at=old)
        OutboxEvent.objects.filter(pk=failed.pk).update(failed=True, created_at=old)
        flush()
        self.assertEqual(list(ReceivedEvent.objects.values_list("event_id", flat=True)), ["b" * 32])
        self.assertEqual([row.pk for row in rows()], [failed.pk])

    def test_the_management_command_flushes_once_and_prints_the_counts(self):
        self.stub.statuses = [200, 400, 500]
        self.enqueue(4)
        out = io.StringIO()
        call_command("edge_auth_sync", stdout=out)
        self.assertEqual(out.getvalue(), "delivered 1, failed 1, pending 2\n")

    def test_the_management_command_keeps_going_with_watch(self):
        self.stub.statuses = [500]
        self.enqueue(1)
        out, passes = io.StringIO(), []

        def sleep(seconds):
            passes.append(seconds)
            make_due()
            if len(passes) == 2:
                raise KeyboardInterrupt

        command = "edge_auth_django.management.commands.edge_auth_sync"
        # (close_old_connections would close the test's own connection)
        with mock.patch(f"{command}.time.sleep", sleep), mock.patch(f"{command}.close_old_connections"):
            call_command("edge_auth_sync", "--watch", "--interval", "3", stdout=out)
        self.assertEqual(passes, [3.0, 3.0])
        self.assertEqual(
            out.getvalue().splitlines(), ["delivered 0, failed 0, pending 1", "delivered 1, failed 0, pending 0"]
        )


class ConcurrentFlushTests(TransactionTestCase):
    def test_two_threads_flushing_at_once_send_each_row_once(self):
        with StubWorker() as stub, override_settings(EDGE_AUTH_URL=stub.url):
            for n in range(20):
                enqueue("user.deactivated", {"user_id": n + 1})
            threads = [threading.Thread(target=flush) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            self.assertEqual(sorted(data["user_id"] for _, data in stub.events()), list(range(1, 21)))


@override_settings(EDGE_AUTH_DELIVER_ON_COMMIT=True)
class BackgroundDeliveryTests(TransactionTestCase):
    """The daemon thread sends what a commit wrote, without the request waiting, and retries."""

    def wait_for(self, stub, count, seconds=10):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and len(stub.received) < count:
            time.sleep(0.05)
        return stub.events()

    def test_a_committed_change_reaches_the_worker_on_its_own(self):
        with StubWorker() as stub, override_settings(EDGE_AUTH_URL=stub.url):
            user = make_user("ada@example.com")
            [(event_type, data)] = self.wait_for(stub, 1)
            self.assertEqual((event_type, data["user"]["id"]), ("user.created", user.pk))
            self.wait_for_delivered()

    def test_a_failed_send_is_retried_by_the_thread_after_its_back_off(self):
        with StubWorker(statuses=[503]) as stub, override_settings(EDGE_AUTH_URL=stub.url):
            make_user("ada@example.com")
            events = self.wait_for(stub, 2, seconds=10)
            self.assertEqual([event_type for event_type, _ in events], ["user.created", "user.created"])
            self.wait_for_delivered()

    def test_a_rotation_in_a_request_reaches_the_worker_as_rotated(self):
        with StubWorker() as stub, override_settings(EDGE_AUTH_URL=stub.url):
            user = make_user("ada@example.com")
            self.wait_for(stub, 1)
            token = worker_refresh(user, "s1")
            response = self.client.post("/api/token/refresh/", {"refresh": str(token)}, content_type="application/json")
            self.assertEqual(response.status_code, 200)
            [_, (event_type, data)] = self.wait_for(stub, 2)
            self.assertEqual((event_type, data["reason"], data["jti"]), ("token.revoked", "rotated", token["jti"]))
            self.wait_for_delivered()

    def wait_for_delivered(self, seconds=5):
        deadline = time.monotonic() + seconds
        while OutboxEvent.objects.filter(delivered_at=None).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertFalse(OutboxEvent.objects.filter(delivered_at=None).exists())
