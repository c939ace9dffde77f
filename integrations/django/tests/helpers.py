"""What the tests share: users, tokens as the worker mints them, signed requests, a stub worker."""

import json
import threading
import time
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from edge_auth_django import signing
from edge_auth_django.models import OutboxEvent
from edge_auth_django.records import concrete_fields

SECRET = settings.EDGE_AUTH_SHARED_SECRET


def User():
    return get_user_model()


def has_field(name):
    return name in concrete_fields(get_user_model())


def make_user(email, password="a-good-password-1", **extra):
    """A user on this side, whichever user model runs; profile fields the model lacks are dropped."""
    model = get_user_model()
    fields = {name: value for name, value in extra.items() if has_field(name)}
    if model.USERNAME_FIELD != model.get_email_field_name():
        fields.setdefault(model.USERNAME_FIELD, email)
    user = model(**{model.get_email_field_name(): email}, **fields)
    user.set_password(password)
    user.save()
    return user


def worker_record(user_id, email, password="pbkdf2_sha256$1000000$salt$hash=", **extra):
    record = {
        "id": user_id,
        "email": email,
        "password": password,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "is_active": True,
        "is_staff": False,
        "is_superuser": False,
        "date_joined": "2024-01-01T10:00:00Z",
        "last_login": None,
        "uuid": str(uuid.uuid4()),
        "phone_number": None,
        "phone_number_verified": False,
        "timezone": "Europe/Paris",
        "is_practitioner": True,
        "account_status": "active",
        "email_verified": True,
    }
    record.update(extra)
    return record


def event(event_type, data, event_id=None):
    return {
        "id": event_id or uuid.uuid4().hex,
        "type": event_type,
        "occurred_at": int(time.time()),
        "source": "edge-auth",
        "data": data,
    }


def body_of(payload):
    return payload if isinstance(payload, bytes) else json.dumps(payload).encode()


def post_signed(client, path, payload, secret=SECRET, at=None, header=None):
    """POSTs `payload` (a JSON value or raw bytes) signed as the worker signs it, unless `header` says otherwise."""
    body = body_of(payload)
    signature = header if header is not None else signing.sign(body, secret, now=at)
    extra = {} if signature is False else {"HTTP_EDGE_AUTH_SIGNATURE": signature}
    return client.post(path, data=body, content_type="application/json", **extra)


def send_event(client, event_type, data, **kwargs):
    return post_signed(client, "/edge-auth/events/", event(event_type, data), **kwargs)


def worker_refresh(user, sid, issued=None):
    """A refresh token as the worker mints it (simplejwt's claims plus `sid`); Django has not seen it."""
    token = RefreshToken()
    token["user_id"] = str(user.pk)
    token["sid"] = sid
    if issued is not None:
        token.set_iat(at_time=issued)
    return token


def outstand(token, user):
    """Records `token` as simplejwt records the tokens it issues (RefreshToken.outstand() is 5.5+)."""
    OutstandingToken.objects.get_or_create(
        jti=token["jti"],
        defaults={"user": user, "token": str(token), "created_at": token.current_time,
                  "expires_at": datetime_from_epoch(token["exp"])},
    )


def access_token(user, sid=None, issued=None):
    token = AccessToken()
    token["user_id"] = str(user.pk)
    if sid is not None:
        token["sid"] = sid
    if issued is not None:
        token.set_iat(at_time=issued)
    return str(token)


def seconds_ago(seconds):
    return timezone.now() - timedelta(seconds=seconds)


def outbox():
    """[(type, data)] in the order they were written."""
    return [(row.type, row.payload) for row in OutboxEvent.objects.order_by("created_at", "id")]


class StubWorker:
    """A local http.server standing in for the worker's `sync/events/`: it checks the signature and
    answers each request with the next status of `statuses` (then 200), recording what it got."""

    def __init__(self, statuses=()):
        self.statuses = list(statuses)
        self.received = []  # (path, headers, body, valid signature)
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    signing.verify(self.headers.get(signing.HEADER), body, SECRET)
                    valid = True
                except signing.SignatureError:
                    valid = False
                with stub.lock:
                    stub.received.append((self.path, dict(self.headers), body, valid))
                    status = stub.statuses.pop(0) if stub.statuses else 200
                if status == "drop":  # no answer at all
                    self.close_connection = True
                    return
                if status == "slow":  # answers after the sender gave up
                    time.sleep(1.5)
                    status = 200
                headers = {"Location": "/elsewhere/"} if 300 <= status < 400 else {}
                answer = json.dumps({"status": "applied"} if status == 200 else {"detail": "stub"}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(answer)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up waiting ("slow")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v1/auth/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def events(self):
        """The events received, as (type, data), in order."""
        with self.lock:
            return [(json.loads(body)["type"], json.loads(body)["data"]) for _, _, body, _ in self.received]
