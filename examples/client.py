#!/usr/bin/env python3
"""An example client for edge-auth (and the DRF API it replaces), with `requests`.

    python examples/client.py http://127.0.0.1:8787/api/v1/drf/auth

`AuthClient` is the part to copy: it keeps the token pair, sends the access token, and on a 401
from an authenticated call refreshes once and retries once. `main()` runs the whole flow against a
base URL (register, login, authenticated calls with an automatic refresh, profile update,
sessions, change-password, logout) and exits non-zero on any answer the contract does not promise.
`make client` runs it against a local `wrangler dev`.
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import sys
import time
from typing import Any

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


class SessionExpired(Exception):
    """The refresh token is dead too: the user must log in again."""


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
            raise UnexpectedResponse(response, str(expected_status))
        data = response.json()
        if data.get("token_type") != "bearer" or not data.get("access_token") or not data.get("refresh_token"):
            raise UnexpectedResponse(response, "a token pair")
        if response.headers.get("Cache-Control") != "no-store":
            raise UnexpectedResponse(response, "Cache-Control: no-store on a token response")
        self.access_token = data["access_token"]
        self.refresh_token = data["refresh_token"]
        return data

    def register(self, email: str, password: str, first_name: str, last_name: str, **extra: Any) -> dict[str, Any]:
        """Creates the account and logs in; returns the profile. 400 bodies name every bad field."""
        body = {
            "email": email,
            "password": password,
            "password_confirm": password,
            "first_name": first_name,
            "last_name": last_name,
            **extra,
        }
        return self._keep_tokens(self._post_json("register/", body), 201)["user"]

    def login(self, email: str, password: str) -> dict[str, Any]:
        """Returns the profile; raises on a wrong password (401) or throttling (429, see Retry-After)."""
        return self._keep_tokens(self._post_json("login/", {"email": email, "password": password}), 200)["user"]

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
            raise UnexpectedResponse(response, str(status))
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


def run_flow(base_url: str, log=print) -> None:
    email = f"client-{secrets.token_hex(6)}@example.com"
    password = secrets.token_urlsafe(18)

    # Register: a session starts and the 17-key profile comes back.
    client = AuthClient(base_url)
    profile = client.register(email, password, "Ada", "Lovelace", timezone="Europe/London")
    check(set(profile) == PROFILE_KEYS, f"profile keys: {sorted(profile)}")
    check(profile["email"] == email and profile["full_name"] == "Ada Lovelace", f"profile: {profile}")
    log(f"registered {email} (user {profile['id']})")

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
    log("password changed: other session ended, old password refused, new one works")

    # Log out: the session's tokens die at once.
    refresh_token, access_token = phone.refresh_token, phone.access_token
    phone.logout()
    dead = phone.http.post(phone._url("token/refresh/"), json={"refresh_token": refresh_token}, timeout=TIMEOUT)
    check(dead.status_code == 401 and dead.json().get("code") == "token_not_valid", f"refresh after logout: {dead.text}")
    gone = phone.http.get(phone._url("me/"), headers={"Authorization": f"Bearer {access_token}"}, timeout=TIMEOUT)
    check(gone.status_code == 401, f"access token after logout: {gone.status_code}")
    client.logout_all()
    log("logged out: refresh and access tokens refused; logout-all ended the rest")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url", nargs="?", default="http://127.0.0.1:8787/api/v1/drf/auth",
                        help="the API prefix, e.g. http://127.0.0.1:8787/api/v1/drf/auth")
    args = parser.parse_args(argv)
    try:
        run_flow(args.base_url)
    except (UnexpectedResponse, SessionExpired, AssertionError, requests.RequestException, ValueError, KeyError) as e:
        print(f"client flow FAILED: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print("client flow OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
