"""The `Edge-Auth-Signature` header (PROTOCOL.md, "Signature"): `t=<unix seconds>,v1=<hex>`, the
lowercase hex HMAC-SHA256 keyed by the shared secret over `"<t>." + body`."""

import hashlib
import hmac
import re
import time

HEADER = "Edge-Auth-Signature"
TOLERANCE_SECONDS = 300

INVALID = "Invalid signature."
EXPIRED = "Signature expired."

_HEADER = re.compile(r"t=(?P<t>[0-9]{1,12}),v1=(?P<v1>[0-9a-f]{64})")


class SignatureError(Exception):
    """A request the receiver refuses with 401 and this `detail`."""

    def __init__(self, detail):
        super().__init__(detail)
        self.detail = detail


def _mac(secret, timestamp, body):
    return hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256).hexdigest()


def sign(body, secret, now=None):
    """The header value for `body` (bytes), signed at `now` (default: this second)."""
    timestamp = int(time.time() if now is None else now)
    return f"t={timestamp},v1={_mac(secret, timestamp, body)}"


def verify(header, body, secret, now=None):
    """Raises SignatureError unless `header` signs `body` with `secret` within the tolerance.

    The MAC is checked before the clock, so only an authentic request learns that it is stale.
    """
    if not isinstance(header, str):
        raise SignatureError(INVALID)
    match = _HEADER.fullmatch(header)  # exactly `t=<digits>,v1=<64 lowercase hex>`, as the worker reads it
    if match is None:
        raise SignatureError(INVALID)
    timestamp, given = match.group("t"), match.group("v1")
    if not hmac.compare_digest(_mac(secret, timestamp, body), given):  # t as sent
        raise SignatureError(INVALID)
    current = int(time.time() if now is None else now)
    if abs(current - int(timestamp)) > TOLERANCE_SECONDS:
        raise SignatureError(EXPIRED)
