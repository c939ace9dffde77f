"""Schemathesis hooks for tests/fuzz/run.sh: Bearer authentication through a real register + login,
and HTTP Basic as the introspection client (run.sh configures the worker with that client) for
`token/introspect/`.

Every token fetch registers a brand-new user with a random password and logs in with it, and each
operation gets its own user (`cache_by_key`; `sessions/` and `sessions/{id}/` share one). Fresh, separate identities keep the run authenticated
whatever the fuzzer does: `logout-all/` and `DELETE sessions/{id}/` revoke sessions (possibly while
another operation runs in a second worker), and Schemathesis reuses emails it has seen in
responses for `login/`, which trips the per-email login back-off. A 401 on an authenticated
operation makes Schemathesis fetch a new token and replay the request once (`retry_on`).
"""

from __future__ import annotations

import base64
import os
import secrets
from urllib.parse import quote_plus

import requests
import schemathesis

BASE_URL = os.environ["FUZZ_BASE_URL"].rstrip("/")
INTROSPECTION_CLIENT_ID = os.environ["FUZZ_INTROSPECTION_CLIENT_ID"]
INTROSPECTION_CLIENT_SECRET = os.environ["FUZZ_INTROSPECTION_CLIENT_SECRET"]


def _is_public(ctx) -> bool:
    """Operations that declare `security: []` get no Authorization header."""
    return ctx.operation.definition.raw.get("security") == []


def _is_introspection(case) -> bool:
    """The operation the introspection client calls, by HTTP Basic instead of a user's Bearer."""
    return {"introspectionClient": []} in (case.operation.definition.raw.get("security") or [])


def _per_operation(case, context) -> str:
    # Listing and ending sessions share a user, so that the stateful phase can end a listed session.
    if case.operation.path.startswith("/sessions/"):
        return "sessions"
    return case.operation.label


@schemathesis.auth(retry_on=[401], cache_by_key=_per_operation).skip_for(_is_public)
class FreshUser:
    def get(self, case, context):
        if _is_introspection(case):
            # RFC 6749 §2.3.1: id and secret form-urlencoded, then base64 of `id:secret`.
            pair = f"{quote_plus(INTROSPECTION_CLIENT_ID)}:{quote_plus(INTROSPECTION_CLIENT_SECRET)}"
            return f"Basic {base64.b64encode(pair.encode()).decode()}"
        email = f"fuzz-{secrets.token_hex(8)}@example.com"
        password = secrets.token_urlsafe(24)
        registration = {
            "email": email,
            "password": password,
            "password_confirm": password,
            "first_name": "Fuzz",
            "last_name": "Identity",
        }
        registered = requests.post(f"{BASE_URL}/register/", json=registration, timeout=30)
        if registered.status_code != 201:
            raise RuntimeError(f"register: {registered.status_code} {registered.text}")
        login = requests.post(f"{BASE_URL}/login/", json={"email": email, "password": password}, timeout=30)
        if login.status_code != 200:
            raise RuntimeError(f"login: {login.status_code} {login.text}")
        return f"Bearer {login.json()['access_token']}"

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = data
