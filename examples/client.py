#!/usr/bin/env python3
"""An example client for edge-auth (and the DRF API it replaces), with `requests`.

    python examples/client.py http://127.0.0.1:8787/api/v1/drf/auth

`AuthClient` is the part to copy: it keeps the token pair, sends the access token, and on a 401
from an authenticated call refreshes once and retries once; it also makes the calls of account
recovery (password reset, e-mail verification, e-mail change) and of the TOTP second factor (setup,
confirm, login with a code, recovery codes, disable; `totp()` computes the codes an authenticator
app shows). `main()` runs the whole flow against a base URL (register, login, authenticated calls
with an automatic refresh, profile update, sessions, change-password, logout, TOTP enrolment and a
login with password + code) and exits non-zero on any answer the contract does not promise.
The steps that follow a mailed link (verify the address, reset the password, change the address)
need the mails: `run_flow(base_url, read_mail=...)` takes a `read_mail(to, subject)` that returns
the plain text of the next mail to `to` whose subject contains `subject` (your test inbox);
without one they are skipped. `make client` runs it against a local `wrangler dev`, reading the
mails from its output (tests/fuzz/client_flow.py).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import re
import secrets
import sys
import time
from typing import Any, Callable

import requests

TIMEOUT = 30


class UnexpectedResponse(Exception):
    """The server answered something the client did not expect."""

    def __init__(self, response: requests.Response, expected: str):
        self.response = response
        body = response.text[:500]
        super().__init__(
            f"{response.request.method} {response.request.url}: expected {expected}, got {response.status_code} {body}"
        )


class FieldErrors(UnexpectedResponse):
    """A 400 that names what is wrong: `errors` is DRF's `{"field": ["message", ...]}`, to show by each field."""

    def __init__(self, response: requests.Response, expected: str):
        super().__init__(response, expected)
        self.errors: dict[str, Any] = response.json()


def unexpected(response: requests.Response, expected: str) -> UnexpectedResponse:
    """The exception for an answer other than `expected`: `FieldErrors` for a 400 naming fields."""
    if response.status_code == 400:
        try:
            if isinstance(response.json(), dict):
                return FieldErrors(response, expected)
        except ValueError:
            pass
    return UnexpectedResponse(response, expected)


class SessionExpired(Exception):
    """The refresh token is dead too: the user must log in again."""


class EmailNotVerified(Exception):
    """Login refused until the mailed verification link is opened (the server's REQUIRE_VERIFIED_EMAIL)."""


class SecondFactorRequired(Exception):
    """The password was right and the account has a second factor: finish with `login_mfa()`, passing
    `mfa_token` (good for five minutes, once) and one of `methods` ("totp", "recovery_code", "webauthn")."""

    def __init__(self, mfa_token: str, methods: list[str]):
        super().__init__(f"second factor required: {', '.join(methods)}")
        self.mfa_token = mfa_token
        self.methods = methods


class SecondFactorRejected(Exception):
    """`login_mfa()` refused. `code` is "mfa_code_invalid" (a wrong, replayed or used code: ask again
    with the same mfa_token, a few tries allowed) or "mfa_token_invalid" (expired, used or out of
    tries: log in with the password again)."""

    def __init__(self, code: str, detail: str):
        super().__init__(f"{code}: {detail}")
        self.code = code


# -- TOTP (RFC 6238), what an authenticator app computes ---------------------------------------

TOTP_PERIOD = 30


def totp(secret: str, at: float | None = None, digits: int = 6, period: int = TOTP_PERIOD) -> str:
    """The code of a base32 `secret` (as `mfa/totp/setup/` gives it) at Unix time `at` (now by default):
    HMAC-SHA1 of the 30-second step number, dynamically truncated (RFC 4226), `digits` long."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    step = int((time.time() if at is None else at) // period)
    mac = hmac.new(key, step.to_bytes(8, "big"), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    number = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


class AuthClient:
    """Talks to one API prefix, e.g. `https://auth.example.com/api/v1/drf/auth`."""

    def __init__(self, base_url: str, session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self.http = session or requests.Session()
        self.access_token: str | None = None
        self.refresh_token: str | None = None
        self.refreshes = 0

    # -- tokens -----------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def _post_json(self, path: str, body: dict[str, Any]) -> requests.Response:
        return self.http.post(self._url(path), json=body, timeout=TIMEOUT)

    def _keep_tokens(self, response: requests.Response, expected_status: int) -> dict[str, Any]:
        if response.status_code != expected_status:
            raise unexpected(response, str(expected_status))
        data = response.json()
        if data.get("token_type") != "bearer" or not data.get("access_token") or not data.get("refresh_token"):
            raise UnexpectedResponse(response, "a token pair")
        if response.headers.get("Cache-Control") != "no-store":
            raise UnexpectedResponse(response, "Cache-Control: no-store on a token response")
        self.access_token = data["access_token"]
        self.refresh_token = data["refresh_token"]
        return data

    def register(
        self, email: str, password: str, first_name: str, last_name: str, **extra: Any
    ) -> dict[str, Any] | None:
        """Creates the account and logs in; returns the profile. A 400 raises `FieldErrors` naming every
        bad field. A verification mail goes to the address. When the server requires a verified
        address first, nobody is logged in and this returns None: log in after the mailed link."""
        body = {
            "email": email,
            "password": password,
            "password_confirm": password,
            "first_name": first_name,
            "last_name": last_name,
            **extra,
        }
        response = self._post_json("register/", body)
        if response.status_code == 201 and "access_token" not in response.json():
            return None  # {"detail": "Verification e-mail sent."}: no tokens before verification
        return self._keep_tokens(response, 201)["user"]

    def login(self, email: str, password: str) -> dict[str, Any]:
        """Returns the profile; raises on a wrong password (401) or throttling (429, see Retry-After),
        `EmailNotVerified` when the server requires a verified address and this one is not, and
        `SecondFactorRequired` when the account has a second factor (then call `login_mfa()`)."""
        response = self._post_json("login/", {"email": email, "password": password})
        if response.status_code == 403 and response.json().get("code") == "email_not_verified":
            raise EmailNotVerified(response.json().get("detail", "e-mail not verified"))
        if response.status_code == 401 and response.json().get("code") == "mfa_required":
            challenge = response.json()
            raise SecondFactorRequired(challenge["mfa_token"], challenge["methods"])
        return self._keep_tokens(response, 200)["user"]

    def login_mfa(self, mfa_token: str, code: str | None = None, recovery_code: str | None = None) -> dict[str, Any]:
        """The second step of a login: the `mfa_token` of `SecondFactorRequired` and either the
        authenticator app's `code` or one of the recovery codes (each works once). Returns the
        profile; raises `SecondFactorRejected` on a 401."""
        body: dict[str, Any] = {"mfa_token": mfa_token}
        if code is not None:
            body["code"] = code
        if recovery_code is not None:
            body["recovery_code"] = recovery_code
        response = self._post_json("login/mfa/", body)
        if response.status_code == 401:
            refused = response.json()
            raise SecondFactorRejected(refused.get("code", ""), refused.get("detail", "refused"))
        return self._keep_tokens(response, 200)["user"]

    def refresh(self) -> None:
        """Rotates the pair. The old refresh token is dead afterwards (reusing it later ends the session)."""
        if not self.refresh_token:
            raise SessionExpired("no refresh token")
        response = self._post_json("token/refresh/", {"refresh_token": self.refresh_token})
        if response.status_code == 401:
            self.access_token = self.refresh_token = None
            raise SessionExpired(response.json().get("detail", "refresh token rejected"))
        self._keep_tokens(response, 200)
        self.refreshes += 1

    # -- authenticated calls ----------------------------------------------------------------

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Sends with the access token; on 401 refreshes once and retries once."""
        response = self._send(method, path, **kwargs)
        if response.status_code == 401 and self.refresh_token:
            self.refresh()
            response = self._send(method, path, **kwargs)
        return response

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if self.access_token:
            headers["Authorization"] = f"Bearer {self.access_token}"
        return self.http.request(method, self._url(path), headers=headers, timeout=TIMEOUT, **kwargs)

    def _expect(self, response: requests.Response, status: int) -> Any:
        if response.status_code != status:
            raise unexpected(response, str(status))
        return response.json() if response.content else None

    def me(self) -> dict[str, Any]:
        return self._expect(self.request("GET", "me/"), 200)

    def update_me(self, **changes: Any) -> dict[str, Any]:
        """Any of first_name, last_name, phone_number, timezone."""
        return self._expect(self.request("PATCH", "me/", json=changes), 200)

    def sessions(self) -> list[dict[str, Any]]:
        return self._expect(self.request("GET", "sessions/"), 200)

    def end_session(self, session_id: str) -> None:
        self._expect(self.request("DELETE", f"sessions/{session_id}/"), 204)

    def change_password(self, old_password: str, new_password: str) -> None:
        """Every other session ends; this one stays."""
        body = {"old_password": old_password, "new_password": new_password, "new_password_confirm": new_password}
        self._expect(self.request("POST", "change-password/", json=body), 200)

    def logout(self) -> None:
        """Ends this session: its refresh token and its access token stop working at once."""
        response = self._send("POST", "logout/", json={"refresh_token": self.refresh_token})
        if response.status_code == 401:
            self.refresh()  # the body must carry the new refresh token, so no plain retry here
            response = self._send("POST", "logout/", json={"refresh_token": self.refresh_token})
        self._expect(response, 200)
        self.access_token = self.refresh_token = None

    def logout_all(self) -> None:
        self._expect(self.request("POST", "logout-all/"), 200)
        self.access_token = self.refresh_token = None

    # -- the TOTP second factor ---------------------------------------------------------------
    # Enabling or disabling it ends every other session of the user and mails a security notice.

    def mfa_status(self) -> dict[str, Any]:
        """`{"totp": bool, "passkeys": n, "recovery_codes_left": n, "methods": [...]}`."""
        return self._expect(self.request("GET", "mfa/"), 200)

    def totp_setup(self) -> dict[str, Any]:
        """Starts an enrolment: `{"secret", "otpauth_url", "qr_svg"}`. Show the QR code (or the secret)
        for the authenticator app to scan; nothing is enabled until `totp_confirm()`. Calling it
        again replaces the pending secret."""
        return self._expect(self.request("POST", "mfa/totp/setup/"), 200)

    def totp_confirm(self, code: str) -> list[str]:
        """Enables TOTP with a code the app shows; returns the ten recovery codes, shown only now
        (keep them somewhere safe). `FieldErrors` on a wrong code (`code`: "Invalid code.")."""
        return self._expect(self.request("POST", "mfa/totp/confirm/", json={"code": code}), 200)["recovery_codes"]

    def regenerate_recovery_codes(self, password: str) -> list[str]:
        """Ten new recovery codes; the old ones stop working."""
        response = self.request("POST", "mfa/recovery-codes/", json={"password": password})
        return self._expect(response, 200)["recovery_codes"]

    def totp_disable(self, password: str | None = None, code: str | None = None) -> None:
        """Turns TOTP off, proven by the password or a current code. `FieldErrors` when it is wrong."""
        body = {"password": password} if password is not None else {"code": code}
        self._expect(self.request("DELETE", "mfa/totp/", json=body), 204)

    # -- account recovery and verified email ------------------------------------------------
    # The mailed links point at the frontend's pages (the server's PASSWORD_RESET_URL and
    # EMAIL_VERIFY_URL); the page reads the values from its URL and makes the call below.

    def request_password_reset(self, email: str) -> None:
        """Mails a reset link if the address has an active account. The answer is the same 200 for
        any well-formed address, so it tells nobody whether the account exists."""
        self._expect(self._post_json("password/reset/", {"email": email}), 200)

    def confirm_password_reset(self, uid: str, token: str, new_password1: str, new_password2: str) -> None:
        """The reset page's call, with the link's `uid` and `token`. Every session of the user ends
        (log in again with the new password) and the link is spent. `FieldErrors` on 400: `uid` or
        `token` "Invalid value" (a wrong, used or expired link: ask for a new one), `new_password2`
        (the two differ, or the password rules)."""
        body = {"uid": uid, "token": token, "new_password1": new_password1, "new_password2": new_password2}
        self._expect(self._post_json("password/reset/confirm/", body), 200)

    def verify_email(self, key: str) -> bool:
        """The verification page's call, with the link's `key` (from registration, a resend or an
        e-mail change). False when the key is unknown, used, replaced by a newer one or expired (404)."""
        response = self._post_json("registration/verify-email/", {"key": key})
        if response.status_code == 404:
            return False
        self._expect(response, 200)
        return True

    def resend_verification(self, email: str) -> None:
        """Mails a new verification link (the older ones stop working) if the address belongs to an
        account not verified yet; the same 200 whatever the address."""
        self._expect(self._post_json("registration/resend-email/", {"email": email}), 200)

    def email_status(self) -> dict[str, Any]:
        """`{"email", "verified"}` of the logged-in user."""
        return self._expect(self.request("GET", "email/"), 200)

    def change_email(self, new_email: str, password: str) -> None:
        """Mails a link to `new_email`; the account's address changes when `verify_email()` gets its
        key, and the old address is told. `FieldErrors` on 400: `new_email` taken or malformed,
        `password` incorrect (checked like a login: throttled, counted by the back-off)."""
        self._expect(self.request("POST", "email/change/", json={"new_email": new_email, "password": password}), 200)


# -- the flow `make client` runs --------------------------------------------------------------

PROFILE_KEYS = {
    "id", "uuid", "email", "first_name", "last_name", "full_name", "display_name", "phone_number",
    "phone_number_verified", "timezone", "is_practitioner", "account_status", "last_login",
    "date_joined", "is_active", "is_staff", "is_superuser",
}


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def expires_in(token: str) -> int:
    """Seconds until a JWT's `exp` (read without checking the signature: the server does that)."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return int(claims["exp"]) - int(time.time())


def tampered(token: str) -> str:
    """The same token with a broken signature: refused with 401 `token_not_valid`, like an expired one."""
    head, payload, signature = token.split(".")
    first = "A" if signature[0] != "A" else "B"
    return f"{head}.{payload}.{first}{signature[1:]}"


ReadMail = Callable[[str, str], str]
"""`read_mail(to, subject)`: the plain text of the next mail to `to` whose subject contains `subject`."""

# The frontend's pages the mailed links open (the server's default PASSWORD_RESET_URL and
# EMAIL_VERIFY_URL): a frontend's router reads the values from the path the same way.
RESET_PAGE = re.compile(r"https?://\S+/reset-password/(?P<uid>[^/\s]+)/(?P<token>[^/\s]+)/")
VERIFY_PAGE = re.compile(r"https?://\S+/verify-email/(?P<key>[^/\s]+)/")


def link_in(text: str, page: re.Pattern[str]) -> dict[str, str]:
    """The values a mailed link carries to its page (e.g. uid and token of a reset link)."""
    found = page.search(text)
    if not found:
        raise AssertionError(f"no link to {page.pattern} in the mail:\n{text}")
    return found.groupdict()


def run_flow(base_url: str, read_mail: ReadMail | None = None, log=print) -> None:
    email = f"client-{secrets.token_hex(6)}@example.com"
    password = secrets.token_urlsafe(18)

    # Register: a session starts and the 17-key profile comes back.
    client = AuthClient(base_url)
    profile = client.register(email, password, "Ada", "Lovelace", timezone="Europe/London")
    check(profile is not None, "register logs in (the server does not require a verified address)")
    assert profile is not None
    check(set(profile) == PROFILE_KEYS, f"profile keys: {sorted(profile)}")
    check(profile["email"] == email and profile["full_name"] == "Ada Lovelace", f"profile: {profile}")
    log(f"registered {email} (user {profile['id']})")

    # Registration mailed a verification link; the address is not verified until it is opened.
    check(client.email_status() == {"email": email, "verified": False}, "a new address is not verified")
    if read_mail:
        first = link_in(read_mail(email, "Verify your e-mail address"), VERIFY_PAGE)["key"]
        client.resend_verification(email)  # "I did not get the mail": a new link replaces the first
        second = link_in(read_mail(email, "Verify your e-mail address"), VERIFY_PAGE)["key"]
        check(not client.verify_email(first), "the first link died when the second was sent")
        check(client.verify_email(second), "the verification link works")
        check(not client.verify_email(second), "a verification link works once")
        check(client.email_status() == {"email": email, "verified": True}, "email/ says verified")
        log("verified the address through the mailed link (a resent link replaced the first; it works once)")
    else:
        log("no read_mail: the steps that follow mailed links are skipped")

    # Log in from a second device: a second session.
    phone = AuthClient(base_url)
    check(phone.login(email, password)["last_login"] is not None, "last_login is set by login")
    check(len(phone.sessions()) == 2, "two live sessions")
    log("logged in from a second client: 2 sessions")

    # Authenticated calls, with the access token going stale in between: refreshed once, retried once.
    check(phone.me()["email"] == email, "me/ answers the caller")
    lifetime = expires_in(phone.access_token or "")
    if lifetime <= 10:
        time.sleep(lifetime + 1.5)  # a short ACCESS_TOKEN_LIFETIME_SECS: wait for the real expiry
        stale = phone._send("GET", "me/")
        why = stale.json().get("messages", [{}])[0].get("message") if stale.status_code == 401 else None
        check(why == "Token is expired", f"an expired access token: {stale.status_code} {stale.text}")
    else:
        phone.access_token = tampered(phone.access_token or "")
    check(phone.me()["email"] == email and phone.refreshes == 1, "a 401 refreshed the pair once")
    log(f"stale access token ({'expired' if lifetime <= 10 else 'tampered'}) -> refreshed and retried")

    updated = phone.update_me(first_name="Grace", last_name="Hopper", phone_number="+15551234567")
    check(updated["full_name"] == "Grace Hopper" and updated["phone_number"] == "+15551234567", f"PATCH me/: {updated}")
    sessions = phone.sessions()
    current = [s for s in sessions if s["current"]]
    check(len(sessions) == 2 and len(current) == 1, f"sessions/ lists both and marks the current one: {sessions}")
    log("profile updated; sessions listed")

    # End the other device's session from here, then sign that device in again.
    other = next(s["id"] for s in client.sessions() if not s["current"])
    client.end_session(other)
    try:
        phone.me()
        raise AssertionError("the ended session's tokens should be refused")
    except SessionExpired:
        pass
    phone.login(email, password)
    log("ended the other session: its tokens are refused")

    # Change the password from the first client: the phone's session ends, this one stays.
    new_password = secrets.token_urlsafe(18)
    client.change_password(password, new_password)
    check(client.me()["first_name"] == "Grace", "the session that changed the password stays")
    try:
        phone.me()
        raise AssertionError("the other session should have ended with the password change")
    except SessionExpired:
        pass
    wrong = client.http.post(client._url("login/"), json={"email": email, "password": password}, timeout=TIMEOUT)
    check(wrong.status_code == 401 and wrong.headers.get("WWW-Authenticate") == 'Bearer realm="api"', "old password refused")
    phone.login(email, new_password)
    if read_mail:
        check("password" in read_mail(email, "Your password was changed"), "a notice of the password change")
    log("password changed: other session ended, old password refused, new one works")

    # Log out: the session's tokens die at once.
    refresh_token, access_token = phone.refresh_token, phone.access_token
    phone.logout()
    dead = phone.http.post(phone._url("token/refresh/"), json={"refresh_token": refresh_token}, timeout=TIMEOUT)
    check(dead.status_code == 401 and dead.json().get("code") == "token_not_valid", f"refresh after logout: {dead.text}")
    gone = phone.http.get(phone._url("me/"), headers={"Authorization": f"Bearer {access_token}"}, timeout=TIMEOUT)
    check(gone.status_code == 401, f"access token after logout: {gone.status_code}")
    log("logged out: refresh and access tokens refused")

    # Two-factor: enrol TOTP from the first client, log in again with the password and a code,
    # then turn it off. The app would scan `qr_svg`; here `totp()` plays the app.
    enrolment = client.totp_setup()
    secret = enrolment["secret"]
    check(enrolment["otpauth_url"].startswith("otpauth://totp/") and f"secret={secret}" in enrolment["otpauth_url"],
          f"an otpauth URL: {enrolment['otpauth_url']}")
    check(enrolment["qr_svg"].startswith("<svg"), "a QR code as SVG")
    recovery_codes = client.totp_confirm(totp(secret))
    check(len(set(recovery_codes)) == 10, f"ten recovery codes: {recovery_codes}")
    check(client.mfa_status()["totp"] is True, "mfa/ says TOTP is on")
    client.logout()
    try:
        client.login(email, new_password)
        raise AssertionError("once TOTP is on, the password alone should not log in")
    except SecondFactorRequired as challenge:
        check(challenge.methods[:2] == ["totp", "recovery_code"], f"methods: {challenge.methods}")
        check(client.access_token is None, "no token before the second factor")
        mfa_token = challenge.mfa_token
    # A used code is refused until its 30 s step is over, and the confirmation used this step's: an
    # app shows the next one within 30 s. One step of drift is allowed, so the next step's code
    # works now (as from an app whose clock runs a little ahead) and the flow need not wait.
    code = totp(secret, time.time() + TOTP_PERIOD)
    check(client.login_mfa(mfa_token, code=code)["email"] == email, "password + code logs in")
    try:
        client.login(email, new_password)
    except SecondFactorRequired as again:
        try:
            client.login_mfa(again.mfa_token, code=code)
            raise AssertionError("a code should work once")
        except SecondFactorRejected as e:
            check(e.code == "mfa_code_invalid", f"a replayed code: {e}")
        check(client.login_mfa(again.mfa_token, recovery_code=recovery_codes[0])["email"] == email,
              "a recovery code logs in (the same mfa_token survives a wrong try)")
    else:
        raise AssertionError("TOTP is still on: the password alone should not log in")
    check(client.mfa_status()["recovery_codes_left"] == 9, "a recovery code works once")
    try:
        client.totp_disable(password="not-" + new_password)
        raise AssertionError("a wrong password should not disable TOTP")
    except FieldErrors as e:
        check(e.errors == {"password": ["Password is incorrect."]}, f"wrong password: {e.errors}")
    client.totp_disable(password=new_password)
    check(client.mfa_status()["totp"] is False, "mfa/ says TOTP is off")
    phone.login(email, new_password)  # the password alone logs in again
    phone.logout()
    log("TOTP enrolled; login needed password + code (a replayed code refused, a recovery code once); disabled")

    if read_mail:
        password = new_password
        # Forgotten password, from a browser without a session: the mailed link opens the reset
        # page, which posts the link's uid and token with the new password twice.
        page = AuthClient(base_url)
        page.request_password_reset(email)
        reset = link_in(read_mail(email, "Reset your password"), RESET_PAGE)
        reset_password = secrets.token_urlsafe(18)
        try:
            page.confirm_password_reset(reset["uid"], reset["token"], reset_password, reset_password + "!")
            raise AssertionError("two different new passwords should be refused")
        except FieldErrors as e:
            # What the page shows under the second field.
            check(e.errors == {"new_password2": ["The two password fields didn’t match."]}, f"mismatch: {e.errors}")
        page.confirm_password_reset(reset["uid"], reset["token"], reset_password, reset_password)
        check("reset" in read_mail(email, "Your password was reset"), "a notice of the reset")
        try:
            client.me()
            raise AssertionError("a reset should end every session")
        except SessionExpired:
            pass
        try:
            page.confirm_password_reset(reset["uid"], reset["token"], reset_password, reset_password)
            raise AssertionError("a reset link should work once")
        except FieldErrors as e:
            check(e.errors == {"token": ["Invalid value"]}, f"a spent link: {e.errors}")
        old = client.http.post(client._url("login/"), json={"email": email, "password": password}, timeout=TIMEOUT)
        check(old.status_code == 401, f"the password before the reset: {old.status_code}")
        client.login(email, reset_password)
        log("password reset through the mailed link: sessions ended, link spent, old password refused, new one works")

        # A new address: confirmed by a link mailed to it; until then the account keeps the old one.
        try:
            client.change_email(email, reset_password)
            raise AssertionError("an address already in use should be refused")
        except FieldErrors as e:
            check(list(e.errors) == ["new_email"], f"a taken address: {e.errors}")
        new_email = f"client-{secrets.token_hex(6)}@example.com"
        client.change_email(new_email, reset_password)
        check(client.email_status() == {"email": email, "verified": True}, "the address waits for the confirmation")
        key = link_in(read_mail(new_email, "Confirm your new e-mail address"), VERIFY_PAGE)["key"]
        check(client.verify_email(key), "the confirmation link works")
        check(client.email_status() == {"email": new_email, "verified": True}, "email/ shows the new address")
        check(new_email in read_mail(email, "Your e-mail address was changed"), "the old address is told")
        check(client.login(new_email, reset_password)["email"] == new_email, "login with the new address")
        log("e-mail changed through the link mailed to the new address; the old one was told")

    client.logout_all()
    log("logout-all ended the rest")


def report_flow(base_url: str, read_mail=None) -> int:
    """Runs `run_flow` and prints its outcome; the exit status (0 when it passed)."""
    try:
        run_flow(base_url, read_mail=read_mail)
    except (UnexpectedResponse, SessionExpired, SecondFactorRequired, SecondFactorRejected, AssertionError,
            requests.RequestException, ValueError, KeyError, OSError) as e:
        print(f"client flow FAILED: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print("client flow OK")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url", nargs="?", default="http://127.0.0.1:8787/api/v1/drf/auth",
                        help="the API prefix, e.g. http://127.0.0.1:8787/api/v1/drf/auth")
    args = parser.parse_args(argv)
    return report_flow(args.base_url)


if __name__ == "__main__":
    sys.exit(main())
