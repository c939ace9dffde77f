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

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_HEX = re.compile(r"[0-9a-f]{64}")


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
    fields = {}
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep or key in fields:
            raise SignatureError(INVALID)
        fields[key] = value
    timestamp, given = fields.get("t"), fields.get("v1")
    if timestamp is None or given is None or not _TIMESTAMP.fullmatch(timestamp) or not _HEX.fullmatch(given):
        raise SignatureError(INVALID)
    if not hmac.compare_digest(_mac(secret, timestamp, body), given):  # t as sent
        raise SignatureError(INVALID)
    current = int(time.time() if now is None else now)
    if abs(current - int(timestamp)) > TOLERANCE_SECONDS:
        raise SignatureError(EXPIRED)
