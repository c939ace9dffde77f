import hashlib
import hmac

from django.core.exceptions import ImproperlyConfigured
from django.test import SimpleTestCase, override_settings

from edge_auth_django import signing
from edge_auth_django.conf import get_config

SECRET = "s" * 32
BODY = b'{"id":"00000000000000000000000000000001"}'
NOW = 1_700_000_000


def header_for(body=BODY, secret=SECRET, t=NOW):
    return signing.sign(body, secret, now=t)


class SignatureTests(SimpleTestCase):
    def assertRefused(self, header, detail=signing.INVALID, body=BODY, now=NOW):
        with self.assertRaises(signing.SignatureError) as caught:
            signing.verify(header, body, SECRET, now=now)
        self.assertEqual(caught.exception.detail, detail)

    def test_the_header_is_t_and_the_hex_hmac_of_t_dot_body(self):
        mac = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
        self.assertEqual(header_for(), f"t={NOW},v1={mac}")

    def test_a_fresh_signature_of_the_same_body_verifies(self):
        signing.verify(header_for(), BODY, SECRET, now=NOW)

    def test_a_tampered_body_is_refused(self):
        self.assertRefused(header_for(), body=BODY.replace(b"1", b"2"))

    def test_a_signature_made_with_another_secret_is_refused(self):
        self.assertRefused(header_for(secret="t" * 32))

    def test_a_changed_timestamp_is_refused_as_invalid(self):
        self.assertRefused(header_for().replace(f"t={NOW}", f"t={NOW + 1}"))

    def test_a_timestamp_more_than_300_seconds_old_has_expired(self):
        self.assertRefused(header_for(t=NOW - 301), signing.EXPIRED)

    def test_a_timestamp_more_than_300_seconds_ahead_has_expired(self):
        self.assertRefused(header_for(t=NOW + 301), signing.EXPIRED)

    def test_300_seconds_either_way_is_still_accepted(self):
        signing.verify(header_for(t=NOW - 300), BODY, SECRET, now=NOW)
        signing.verify(header_for(t=NOW + 300), BODY, SECRET, now=NOW)

    def test_a_stale_forgery_is_invalid_not_expired(self):
        self.assertRefused(header_for(secret="t" * 32, t=NOW - 1000), signing.INVALID)

    def test_missing_and_malformed_headers_are_refused(self):
        good = header_for()
        mac = good.split("v1=")[1]
        for header in [
            None,
            "",
            mac,
            f"v1={mac}",
            f"t={NOW}",
            f"t={NOW},v1=",
            f"t=,v1={mac}",
            f"t=-{NOW},v1={mac}",
            f"t={NOW}.0,v1={mac}",
            f"t={NOW},v1={mac.upper()}",
            f"t={NOW},v1={mac[:-2]}",
            f"t={NOW},v1={mac}00",
            f"t={NOW},t={NOW},v1={mac}",
            f"t={NOW},v1={mac},v1={mac}",
            f"t={NOW};v1={mac}",
            f"t=１７００000000,v1={mac}",
        ]:
            with self.subTest(header=header):
                self.assertRefused(header)

    def test_the_header_is_read_as_strictly_as_the_worker_reads_it(self):
        for header in [
            header_for().replace(",", ", "),
            " " + header_for(),
            header_for() + ",v2=00",
            header_for() + "\n",
            "v1=" + header_for().split("v1=")[1] + f",t={NOW}",
        ]:
            with self.subTest(header=header):
                self.assertRefused(header)


class SettingsTests(SimpleTestCase):
    def test_the_test_settings_are_valid(self):
        config = get_config()
        self.assertEqual(config.events_url, "http://127.0.0.1:9/api/v1/auth/sync/events/")
        self.assertNotIn(config.secret, repr(config))

    def test_a_secret_shorter_than_32_characters_is_refused(self):
        with override_settings(EDGE_AUTH_SHARED_SECRET="x" * 31):
            with self.assertRaisesMessage(ImproperlyConfigured, "EDGE_AUTH_SHARED_SECRET"):
                get_config()

    def test_the_app_refuses_to_start_with_a_short_secret(self):
        from django.apps import apps

        with override_settings(EDGE_AUTH_SHARED_SECRET="x" * 31):
            with self.assertRaisesMessage(ImproperlyConfigured, "EDGE_AUTH_SHARED_SECRET"):
                apps.get_app_config("edge_auth_django").ready()

    def test_the_app_refuses_to_start_without_simplejwt_s_blacklist(self):
        from django.apps import apps

        with override_settings(INSTALLED_APPS=["edge_auth_django"]):
            with self.assertRaisesMessage(ImproperlyConfigured, "token_blacklist"):
                apps.get_app_config("edge_auth_django").ready()

    def test_a_missing_secret_is_refused(self):
        with override_settings(EDGE_AUTH_SHARED_SECRET=None):
            with self.assertRaisesMessage(ImproperlyConfigured, "EDGE_AUTH_SHARED_SECRET"):
                get_config()

    def test_the_worker_url_must_be_http_and_end_in_a_slash(self):
        for url in [None, "", "http://127.0.0.1:8787/api/v1/auth", "ftp://x/", "127.0.0.1:8787/api/v1/auth/"]:
            with self.subTest(url=url), override_settings(EDGE_AUTH_URL=url):
                with self.assertRaisesMessage(ImproperlyConfigured, "EDGE_AUTH_URL"):
                    get_config()

    def test_timeout_and_id_start_have_defaults_and_are_checked(self):
        with self.settings():
            from django.conf import settings

            del settings.EDGE_AUTH_TIMEOUT
            self.assertEqual(get_config().timeout, 5)
            self.assertEqual(get_config().user_id_start, 1_000_000_000)
        for name, value in [("EDGE_AUTH_TIMEOUT", 0), ("EDGE_AUTH_TIMEOUT", "5"), ("EDGE_AUTH_USER_ID_START", -1)]:
            with self.subTest(name=name, value=value), override_settings(**{name: value}):
                with self.assertRaisesMessage(ImproperlyConfigured, name):
                    get_config()
